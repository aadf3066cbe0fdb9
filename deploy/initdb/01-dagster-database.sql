-- Dagster's run, event-log and schedule storage lives in its own database beside the application's.
CREATE DATABASE dagster OWNER tickstock;
