"""Province-scale batch evaluation: many communes through the engine, in crash-isolated workers, summarised."""
