"""Pure Python helpers: no Django and no other project imports (layer 0)."""
