//! Every event shape that can wake the connection approver, turned into the services to
//! reconcile. All of them are hints: the truth is re-read from EC2.
//!
//! | shape | services |
//! |---|---|
//! | EventBridge schedule (`detail-type: Scheduled Event`) | all governed |
//! | EventBridge `Endpoint Connection Request`, `detail: {serviceId?, vpcEndpointId?}` | that service, or all |
//! | EventBridge CloudTrail `CreateVpcEndpoint` | the service named in the request or response, or all |
//! | SNS connection notification (`Records[].Sns.Message`) | ids found in the messages, or all |
//! | direct invoke `{"action": "reconcile", "serviceIds": [..], "dryRun": bool}` | those |
//!
//! `{"action": "findings", "time"?: "<when the schedule fired>"}` (the hourly findings rule) is
//! not a reconcile: `parse_findings_request`.

use std::collections::BTreeSet;

use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use aws_lambda_events::event::sns::SnsEvent;
use serde::Deserialize;
use serde_json::Value;

use super::{EventError, err, kind_of, read};
use crate::domain::hour::{format_utc, parse_utc};
use crate::domain::trigger::{ServiceSelection, Trigger, TriggerKind};
use crate::domain::{EndpointId, ServiceId};

/// The `detail` of our own `Endpoint Connection Request` event.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct ConnectionRequestDetail {
    service_id: Option<String>,
    vpc_endpoint_id: Option<String>,
}

/// The direct invoke.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct DirectInvoke {
    action: String,
    service_ids: Vec<String>,
    #[serde(default)]
    dry_run: bool,
}

fn selection(ids: BTreeSet<ServiceId>) -> ServiceSelection {
    if ids.is_empty() {
        ServiceSelection::AllGoverned
    } else {
        ServiceSelection::These(ids)
    }
}

fn trigger(kind: TriggerKind, services: ServiceSelection) -> Trigger {
    Trigger {
        kind,
        services,
        dry_run: false,
    }
}

/// The findings run's event: `{"action": "findings"}`, with the `time` the schedule fired when
/// the findings rule sends it (its input transformer copies the scheduled event's `time`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FindingsInvoke {
    #[allow(dead_code)]
    action: String,
    time: Option<String>,
}

/// A findings run's request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FindingsRequest {
    /// Epoch second the schedule fired, if the event says so. It, not the hour the event is
    /// delivered or retried in, decides whether this is the day's first run.
    pub fired_at: Option<i64>,
}

/// How far ahead of the clock a findings `time` may be (EventBridge's and Lambda's clocks).
const FINDINGS_CLOCK_SKEW_SECS: i64 = 300;

/// The findings request in `event` received at epoch second `now`, or `None` when `event` is not
/// one (`action` other than `findings`). A findings event with anything else in it, or a `time`
/// that is not a UTC time or lies ahead of the clock, is an error.
pub fn parse_findings_request(
    event: &Value,
    now: i64,
) -> Result<Option<FindingsRequest>, EventError> {
    if event.get("action") != Some(&Value::String("findings".into())) {
        return Ok(None);
    }
    if event.get("time") == Some(&Value::Null) {
        return err(
            "`time` is null: expected when the schedule fired, as \"2026-11-27T00:00:00Z\"",
        );
    }
    let invoke: FindingsInvoke = read(event, "findings invoke")?;
    let fired_at = match invoke.time {
        None => None,
        Some(time) => {
            let at = parse_utc(&time).map_err(|e| EventError::new(format!("`time`: {e}")))?;
            if at > now + FINDINGS_CLOCK_SKEW_SECS {
                return err(format!(
                    "`time` {time} is ahead of the clock ({}): a findings run cannot be dated ahead",
                    format_utc(now)
                ));
            }
            Some(at)
        }
    };
    Ok(Some(FindingsRequest { fired_at }))
}

/// Parses any trigger of the approver.
pub fn parse_trigger(event: &Value) -> Result<Trigger, EventError> {
    let Value::Object(obj) = event else {
        return err(format!("expected a JSON object, found {}", kind_of(event)));
    };
    let markers: Vec<&str> = ["Records", "detail-type", "action"]
        .into_iter()
        .filter(|k| obj.contains_key(*k))
        .collect();
    match markers[..] {
        ["Records"] => sns(event),
        ["detail-type"] => eventbridge(event),
        ["action"] => direct(event),
        [] => err(
            "unrecognised event: expected an EventBridge event (`detail-type`), an SNS event (`Records`) or a direct invoke (`action`)",
        ),
        _ => err(format!(
            "ambiguous event: it has {} (only one of them may be present)",
            markers
                .iter()
                .map(|m| format!("`{m}`"))
                .collect::<Vec<_>>()
                .join(" and ")
        )),
    }
}

fn eventbridge(event: &Value) -> Result<Trigger, EventError> {
    let envelope: EventBridgeEvent<Value> = read(event, "EventBridge event")?;
    match envelope.detail_type.as_str() {
        "Scheduled Event" => Ok(trigger(
            TriggerKind::Schedule,
            ServiceSelection::AllGoverned,
        )),
        "Endpoint Connection Request" => {
            let detail: ConnectionRequestDetail = read(&envelope.detail, "`detail`")?;
            let mut ids = BTreeSet::new();
            if let Some(service) = &detail.service_id {
                ids.insert(
                    ServiceId::parse(service)
                        .map_err(|e| EventError::new(format!("`detail.serviceId`: {e}")))?,
                );
            }
            if let Some(endpoint) = &detail.vpc_endpoint_id {
                EndpointId::parse(endpoint)
                    .map_err(|e| EventError::new(format!("`detail.vpcEndpointId`: {e}")))?;
            }
            Ok(trigger(TriggerKind::ConnectionEvent, selection(ids)))
        }
        "AWS API Call via CloudTrail" => cloudtrail(&envelope.detail),
        other => err(format!(
            "unsupported `detail-type` {other:?}: expected \"Scheduled Event\", \"Endpoint Connection Request\" or \"AWS API Call via CloudTrail\""
        )),
    }
}

/// CloudTrail's `detail` is read loosely (its fields vary with the caller and redaction): only
/// the event name is required; the service is named by id or name in the request or response.
fn cloudtrail(detail: &Value) -> Result<Trigger, EventError> {
    let Value::Object(detail) = detail else {
        return err(format!(
            "`detail` must be an object, found {}",
            kind_of(detail)
        ));
    };
    match detail.get("eventName") {
        Some(Value::String(name)) if name == "CreateVpcEndpoint" => {}
        Some(Value::String(name)) => {
            return err(format!(
                "unsupported CloudTrail `detail.eventName` {name:?}: expected \"CreateVpcEndpoint\""
            ));
        }
        Some(other) => {
            return err(format!(
                "`detail.eventName` must be a string, found {}",
                kind_of(other)
            ));
        }
        None => return err("CloudTrail event without `detail.eventName`"),
    }
    match detail.get("eventSource") {
        None => {}
        Some(Value::String(source)) if source == "ec2.amazonaws.com" => {}
        Some(other) => {
            return err(format!(
                "CloudTrail `detail.eventSource` must be \"ec2.amazonaws.com\", found {other}"
            ));
        }
    }
    let mut ids = BTreeSet::new();
    for field in ["requestParameters", "responseElements"] {
        if let Some(v) = detail.get(field) {
            scan_value(v, &mut ids);
        }
    }
    Ok(trigger(TriggerKind::CloudTrail, selection(ids)))
}

fn scan_value(value: &Value, found: &mut BTreeSet<ServiceId>) {
    match value {
        Value::String(s) => found.extend(ServiceId::find_all(s)),
        Value::Array(items) => items.iter().for_each(|v| scan_value(v, found)),
        Value::Object(map) => map.values().for_each(|v| scan_value(v, found)),
        _ => {}
    }
}

/// The SNS message body of a connection notification is not documented: scan it for ids.
fn sns(event: &Value) -> Result<Trigger, EventError> {
    let envelope: SnsEvent = read(event, "SNS event")?;
    if envelope.records.is_empty() {
        return err("`Records` is empty");
    }
    let mut ids = BTreeSet::new();
    for (i, record) in envelope.records.iter().enumerate() {
        if record.event_source != "aws:sns" {
            return err(format!(
                "`Records[{i}].EventSource` must be \"aws:sns\", found {:?}",
                record.event_source
            ));
        }
        ids.extend(ServiceId::find_all(&record.sns.message));
    }
    Ok(trigger(TriggerKind::Sns, selection(ids)))
}

fn direct(event: &Value) -> Result<Trigger, EventError> {
    let invoke: DirectInvoke = read(event, "direct invoke")?;
    if invoke.action != "reconcile" {
        return err(format!(
            "unsupported `action` {:?}: expected \"reconcile\" or \"findings\"",
            invoke.action
        ));
    }
    if invoke.service_ids.is_empty() {
        return err("`serviceIds` is empty: name at least one endpoint service");
    }
    let ids = invoke
        .service_ids
        .iter()
        .enumerate()
        .map(|(i, s)| {
            ServiceId::parse(s).map_err(|e| EventError::new(format!("`serviceIds[{i}]`: {e}")))
        })
        .collect::<Result<BTreeSet<_>, _>>()?;
    Ok(Trigger {
        kind: TriggerKind::Direct,
        services: ServiceSelection::These(ids),
        dry_run: invoke.dry_run,
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const FIXTURES: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../functions/connection-approver/fixtures/"
    );

    fn fixture(path: &str) -> Value {
        let text = std::fs::read_to_string(format!("{FIXTURES}{path}")).expect("fixture");
        serde_json::from_str(&text).expect("fixture is JSON")
    }

    fn ids(list: &[&str]) -> ServiceSelection {
        ServiceSelection::These(list.iter().map(|s| ServiceId::parse(s).unwrap()).collect())
    }

    const NAMED: &str = "vpce-svc-0123456789abcdef0";

    #[test]
    fn every_fixture_reads_as_its_trigger() {
        for (file, kind, services, dry_run) in [
            (
                "schedule.json",
                TriggerKind::Schedule,
                ServiceSelection::AllGoverned,
                false,
            ),
            (
                "connection-request.json",
                TriggerKind::ConnectionEvent,
                ids(&[NAMED]),
                false,
            ),
            (
                "cloudtrail-create-vpc-endpoint.json",
                TriggerKind::CloudTrail,
                ids(&[NAMED]),
                false,
            ),
            (
                "sns-connection-notification.json",
                TriggerKind::Sns,
                ids(&[NAMED]),
                false,
            ),
            (
                "direct-reconcile.json",
                TriggerKind::Direct,
                ids(&[NAMED]),
                false,
            ),
        ] {
            let t = parse_trigger(&fixture(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
            assert_eq!(
                (t.kind, t.services, t.dry_run),
                (kind, services, dry_run),
                "{file}"
            );
        }
        let dry =
            parse_trigger(&json!({"action": "reconcile", "serviceIds": [NAMED], "dryRun": true}))
                .unwrap();
        assert!(dry.dry_run);
    }

    #[test]
    fn every_malformed_fixture_is_refused_naming_the_problem() {
        for (file, names) in [
            ("schedule.json", "\"Scheduled Events\""),
            ("connection-request.json", "`detail.serviceId`"),
            (
                "cloudtrail-create-vpc-endpoint.json",
                "\"DeleteVpcEndpoints\"",
            ),
            (
                "sns-connection-notification.json",
                "`Records[0].Sns.Message`",
            ),
            ("direct-reconcile.json", "`serviceIds[1]`"),
            (
                "direct-reconcile-snake-case.json",
                "unknown field `dry_run`",
            ),
        ] {
            let err = parse_trigger(&fixture(&format!("malformed/{file}")))
                .unwrap_err()
                .to_string();
            assert!(err.contains(names), "{file}: {err}");
            assert!(err.starts_with("invalid event: "), "{err}");
        }
    }

    #[test]
    fn malformed_events_name_the_problem() {
        let sns = |record: Value| json!({"Records": [record]});
        let complete_sns = json!({
            "EventSource": "aws:sns", "EventVersion": "1.0", "EventSubscriptionArn": "arn:x",
            "Sns": {"Type": "Notification", "MessageId": "m", "TopicArn": "arn:t", "Timestamp": "2026-11-27T08:03:00.000Z",
                    "SignatureVersion": "1", "Signature": "s", "SigningCertURL": "https://c", "UnsubscribeURL": "https://u",
                    "Message": "vpce-svc-0a"}});
        let mut no_signature = complete_sns.clone();
        no_signature["Sns"]
            .as_object_mut()
            .unwrap()
            .remove("Signature");
        let mut from_sqs = complete_sns.clone();
        from_sqs["EventSource"] = json!("aws:sqs");
        let cases = [
            (json!([]), "expected a JSON object, found an array"),
            (json!({}), "unrecognised event"),
            (
                json!({"detail-type": "Scheduled Event", "action": "reconcile"}),
                "ambiguous event",
            ),
            (
                json!({"detail-type": 5, "source": "s", "detail": {}}),
                "`detail-type`",
            ),
            (
                json!({"detail-type": "Scheduled Event", "detail": {}}),
                "missing field `source`",
            ),
            (
                json!({"detail-type": "Something", "source": "s", "detail": {}}),
                "unsupported `detail-type` \"Something\"",
            ),
            (
                json!({"detail-type": "Endpoint Connection Request", "source": "s", "detail": {"vpcEndpointId": 3}}),
                "`vpcEndpointId`",
            ),
            (
                json!({"detail-type": "Endpoint Connection Request", "source": "s", "detail": {"serviceID": "vpce-svc-0a"}}),
                "unknown field `serviceID`",
            ),
            (
                json!({"detail-type": "Endpoint Connection Request", "source": "s", "detail": "x"}),
                "`detail`",
            ),
            (
                json!({"detail-type": "AWS API Call via CloudTrail", "source": "aws.ec2", "detail": {}}),
                "without `detail.eventName`",
            ),
            (
                json!({"detail-type": "AWS API Call via CloudTrail", "source": "aws.ec2", "detail": {"eventName": "CreateVpcEndpoint", "eventSource": "s3.amazonaws.com"}}),
                "`detail.eventSource`",
            ),
            (json!({"Records": {}}), "SNS event"),
            (json!({"Records": []}), "`Records` is empty"),
            (sns(no_signature), "missing field `Signature`"),
            (sns(from_sqs), "must be \"aws:sns\""),
            (
                json!({"action": "delete", "serviceIds": ["vpce-svc-0a"]}),
                "unsupported `action` \"delete\"",
            ),
            (json!({"action": "reconcile"}), "missing field `serviceIds`"),
            (
                json!({"action": "reconcile", "serviceIds": []}),
                "`serviceIds` is empty",
            ),
            (
                json!({"action": "reconcile", "serviceIds": ["vpce-svc-0a", "nope"]}),
                "`serviceIds[1]`: invalid endpoint service id \"nope\"",
            ),
            (
                json!({"action": "reconcile", "serviceIds": ["vpce-svc-0a"], "dryRun": "yes"}),
                "`dryRun`",
            ),
            (
                json!({"action": "reconcile", "serviceIds": ["vpce-svc-0a"], "DryRun": true}),
                "unknown field `DryRun`",
            ),
        ];
        for (event, expected) in cases {
            let e = parse_trigger(&event).unwrap_err().to_string();
            assert!(
                e.contains(expected),
                "{event}: {e} should contain {expected}"
            );
        }
        assert!(parse_trigger(&sns(complete_sns)).is_ok());
    }

    #[test]
    fn connection_event_without_service_means_all() {
        let t = parse_trigger(&json!({"detail-type": "Endpoint Connection Request", "source": "custom", "detail": {}})).unwrap();
        assert_eq!(t.services, ServiceSelection::AllGoverned);
    }

    #[test]
    fn ids_are_found_in_free_text_only_when_they_stand_alone() {
        let found = ServiceId::find_all(
            r#"{"serviceId":"vpce-svc-0a1b","name":"com.amazonaws.vpce.us-east-1.vpce-svc-ff00"} xvpce-svc-12 vpce-svc-"#,
        );
        assert_eq!(
            found.into_iter().map(String::from).collect::<Vec<_>>(),
            ["vpce-svc-0a1b", "vpce-svc-ff00"]
        );
    }
}

#[cfg(test)]
mod edge_properties {
    use proptest::prelude::*;
    use serde_json::{Value, json};

    use super::*;

    /// Arbitrary JSON, biased towards the keys the parsers look at.
    fn arb_json() -> impl Strategy<Value = Value> {
        let key = prop_oneof![
            Just("detail-type".to_owned()),
            Just("detail".to_owned()),
            Just("source".to_owned()),
            Just("Records".to_owned()),
            Just("Sns".to_owned()),
            Just("Message".to_owned()),
            Just("action".to_owned()),
            Just("serviceIds".to_owned()),
            Just("serviceId".to_owned()),
            Just("eventName".to_owned()),
            Just("dryRun".to_owned()),
            Just("requestParameters".to_owned()),
            "[a-zA-Z]{1,8}",
        ];
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(|n| json!(n)),
            prop_oneof![
                Just("Scheduled Event".to_owned()),
                Just("Endpoint Connection Request".to_owned()),
                Just("AWS API Call via CloudTrail".to_owned()),
                Just("CreateVpcEndpoint".to_owned()),
                Just("reconcile".to_owned()),
                "vpce-svc-[0-9a-f]{1,17}",
                "[ -~]{0,24}",
                "\\PC{0,12}",
            ]
            .prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 48, 6, move |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                proptest::collection::btree_map(key.clone(), inner, 0..5)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn any_event_parses_or_is_refused_without_panicking(event in arb_json()) {
            match parse_trigger(&event) {
                // A trigger only ever names services to look at; valid ids only.
                Ok(trigger) => if let ServiceSelection::These(ids) = &trigger.services {
                    prop_assert!(!ids.is_empty());
                },
                Err(err) => prop_assert!(err.to_string().starts_with("invalid event: ")),
            }
        }

        #[test]
        fn scanning_any_text_finds_only_ids_it_contains(text in "\\PC{0,200}", inserted in "[0-9a-f]{1,17}") {
            let found = ServiceId::find_all(&text);
            prop_assert!(found.iter().all(|id| text.contains(id.as_str())));
            let with_id = format!("{text} vpce-svc-{inserted} ");
            let expected = ServiceId::parse(&format!("vpce-svc-{inserted}")).unwrap();
            prop_assert!(ServiceId::find_all(&with_id).contains(&expected));
        }
    }
}

#[cfg(test)]
mod findings_request_tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn only_the_findings_action_is_a_findings_request() {
        let now = 1_795_046_400 + 7_200; // 2026-11-19T02:00:00Z
        assert_eq!(
            parse_findings_request(&json!({"action": "findings"}), now).unwrap(),
            Some(FindingsRequest { fired_at: None })
        );
        assert_eq!(
            parse_findings_request(
                &json!({"action": "reconcile", "serviceIds": ["vpce-svc-0a"]}),
                now
            )
            .unwrap(),
            None
        );
        assert_eq!(
            parse_findings_request(&json!({"detail-type": "Scheduled Event"}), now).unwrap(),
            None
        );
        let err = parse_findings_request(&json!({"action": "findings", "dryRun": true}), now)
            .unwrap_err();
        assert!(err.to_string().contains("unknown field `dryRun`"), "{err}");
    }

    #[test]
    fn the_findings_time_is_when_the_schedule_fired_never_ahead_of_the_clock() {
        let now = 1_795_046_400 + 7_200; // 2026-11-19T02:00:00Z
        let fired =
            |time: &str| parse_findings_request(&json!({"action": "findings", "time": time}), now);
        assert_eq!(
            fired("2026-11-19T00:00:03Z").unwrap(),
            Some(FindingsRequest {
                fired_at: Some(1_795_046_403)
            })
        );
        assert!(
            fired("2026-11-19T02:04:00Z").unwrap().is_some(),
            "within the clocks' skew"
        );
        let ahead = fired("2026-11-19T03:00:00Z").unwrap_err().to_string();
        assert!(ahead.contains("ahead of the clock"), "{ahead}");
        let null = parse_findings_request(&json!({"action": "findings", "time": null}), now)
            .unwrap_err()
            .to_string();
        assert!(null.contains("`time` is null"), "{null}");
        let bad = fired("yesterday").unwrap_err().to_string();
        assert!(bad.contains("`time`") && bad.contains("yesterday"), "{bad}");
    }
}
