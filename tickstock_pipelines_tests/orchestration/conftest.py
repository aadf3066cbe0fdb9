"""The code location as operators see it: definitions, schedules, sensors, automation, run status
notifications, the daemon and the UI."""
