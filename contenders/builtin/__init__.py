"""Built-in rule-based contenders."""

__all__: list[str] = []
