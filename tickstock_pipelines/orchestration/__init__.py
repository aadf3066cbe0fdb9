"""Schedules, sensors and automation: the operator's side of the code location."""

from dagster import Definitions

from tickstock_pipelines.notifications.sensors import (
    admin_notify_on_failure,
    admin_notify_on_success,
    deliver_missed_notifications,
)
from tickstock_pipelines.orchestration.automation import cache_automation_sensor
from tickstock_pipelines.orchestration.backfill_symbols import backfill_symbols
from tickstock_pipelines.orchestration.new_symbols import new_symbols_sensor
from tickstock_pipelines.orchestration.schedules import JOBS, SCHEDULES
from tickstock_pipelines.orchestration.theme_review import theme_review

orchestration_defs = Definitions(
    assets=[theme_review],
    jobs=[*JOBS, backfill_symbols],
    schedules=SCHEDULES,
    sensors=[new_symbols_sensor, cache_automation_sensor, admin_notify_on_success, admin_notify_on_failure,
             deliver_missed_notifications],
)
