"""Shops, terminals, city counters and their fee catalogue, QR payloads and settlement."""
