"""Premium-point campaigns, spend-back, lotteries, benefits, point lots and expiry rules."""
