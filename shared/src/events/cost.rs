//! The cost reporter's events: its EventBridge schedule, or a backfill `{"hour": "<ISO hour>"}`.

use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use serde::Deserialize;
use serde_json::Value;

use super::{EventError, err, kind_of, read};
use crate::domain::hour::Hour;

/// What a cost-reporter event asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CostRequest {
    /// The schedule fired at epoch second `at` (the event's `time`, else the clock).
    Scheduled { at: i64 },
    /// A backfill of exactly this hour.
    Hour(Hour),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Backfill {
    hour: String,
}

/// Reads a cost-reporter event received at epoch second `now`.
pub fn parse_cost_event(event: &Value, now: i64) -> Result<CostRequest, EventError> {
    let Value::Object(obj) = event else {
        return err(format!(
            "expected a JSON object (a scheduled event or {{\"hour\": \"2026-11-27T08:00:00Z\"}}), found {}",
            kind_of(event)
        ));
    };
    if obj.contains_key("hour") {
        let backfill: Backfill = read(event, "backfill")?;
        return Hour::parse(&backfill.hour)
            .map(CostRequest::Hour)
            .map_err(|e| EventError::new(format!("`hour`: {e}")));
    }
    if !obj.contains_key("detail-type") {
        return err(
            "unrecognised event: expected a scheduled event or {\"hour\": \"2026-11-27T08:00:00Z\"}",
        );
    }
    let envelope: EventBridgeEvent<Value> = read(event, "EventBridge event")?;
    if envelope.detail_type != "Scheduled Event" {
        return err(format!(
            "unsupported `detail-type` {:?}: expected \"Scheduled Event\"",
            envelope.detail_type
        ));
    }
    Ok(CostRequest::Scheduled {
        at: envelope.time.map_or(now, |t| t.timestamp()),
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn schedule_and_backfill_events() {
        let scheduled = json!({"version": "0", "detail-type": "Scheduled Event", "source": "aws.events",
            "time": "2026-11-27T09:00:03Z", "detail": {}});
        assert_eq!(
            parse_cost_event(&scheduled, 0).unwrap(),
            CostRequest::Scheduled { at: 1_795_770_003 }
        );
        let no_time =
            json!({"detail-type": "Scheduled Event", "source": "aws.events", "detail": {}});
        assert_eq!(
            parse_cost_event(&no_time, 7300).unwrap(),
            CostRequest::Scheduled { at: 7300 }
        );
        let backfill = json!({"hour": "2026-11-01T00:00:00Z"});
        assert_eq!(
            parse_cost_event(&backfill, 0).unwrap(),
            CostRequest::Hour(Hour::parse("2026-11-01T00:00:00Z").unwrap())
        );
    }

    #[test]
    fn malformed_events_name_the_problem() {
        for (event, expected) in [
            (json!("x"), "expected a JSON object"),
            (json!({}), "unrecognised event"),
            (json!({"hour": 5}), "`hour`"),
            (
                json!({"hour": "2026-11-27T08:30:00Z"}),
                "`hour`: invalid hour",
            ),
            (
                json!({"hour": "2026-11-27T08:00:00Z", "dryRun": true}),
                "unknown field `dryRun`",
            ),
            (
                json!({"detail-type": "Other", "source": "s", "detail": {}}),
                "unsupported `detail-type`",
            ),
            (
                json!({"detail-type": "Scheduled Event", "source": "aws.events", "time": "soon", "detail": {}}),
                "`time`",
            ),
        ] {
            let err = parse_cost_event(&event, 0).unwrap_err().to_string();
            assert!(err.contains(expected), "{err} should contain {expected}");
        }
    }
}
