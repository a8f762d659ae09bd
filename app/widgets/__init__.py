"""The app's widgets, one class per module; they show models and emit what the user asked for."""
