"""The self-test: a catalogue of seeded defects, and the engine that shows each caught."""
