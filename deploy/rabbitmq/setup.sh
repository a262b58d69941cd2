#!/bin/sh
# The ledger's broker on RabbitMQ: a vhost and a user of its own (CELERY_BROKER_URL
# amqp://aizu:PASSWORD@mq.city.internal:5672/aizu). Run once, as root, on the broker's machine.
set -eu
: "${AIZU_BROKER_PASSWORD:?set AIZU_BROKER_PASSWORD}"
rabbitmqctl add_vhost aizu
rabbitmqctl add_user aizu "$AIZU_BROKER_PASSWORD"
rabbitmqctl set_permissions -p aizu aizu ".*" ".*" ".*"
