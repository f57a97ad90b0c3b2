"""Built-in rule-based contenders."""
