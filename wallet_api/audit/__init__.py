"""The audit log: who did what, and when, among those who run the service (operators, campaign
administrators, supervisors, cashiers) and in residents' consent; append-only, and sealed each
business date like the books."""
