"""contenders."""
