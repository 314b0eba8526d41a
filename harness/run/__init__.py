"""Running things on a stack: `readiness run` (runner.py) and `readiness chaos`
(chaos.py, its faults in chaos_catalogue.py)."""
