//! Every event shape that can wake the connection approver, turned into the set of
//! services to reconcile. All of them are hints: the truth is re-read from EC2.
//!
//! | shape | services |
//! |---|---|
//! | EventBridge schedule (`detail-type: Scheduled Event`) | all governed |
//! | EventBridge `Endpoint Connection Request` | `detail.serviceId`, or all |
//! | EventBridge CloudTrail `CreateVpcEndpoint` | the service named in the event, or all |
//! | SNS connection notification (`Records[].Sns.Message`) | ids found in the messages, or all |
//! | direct invoke `{"action": "reconcile", "serviceIds": [..], "dryRun": bool}` | those |

use std::collections::BTreeSet;

use serde::Serialize;
use serde_json::Value;

use super::ids::{EndpointId, ServiceId};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum TriggerKind {
    Schedule,
    ConnectionEvent,
    CloudTrail,
    Sns,
    Direct,
}

impl TriggerKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TriggerKind::Schedule => "schedule",
            TriggerKind::ConnectionEvent => "connectionEvent",
            TriggerKind::CloudTrail => "cloudTrail",
            TriggerKind::Sns => "sns",
            TriggerKind::Direct => "direct",
        }
    }
}

/// Which services a trigger asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServiceSelection {
    AllGoverned,
    These(BTreeSet<ServiceId>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trigger {
    pub kind: TriggerKind,
    pub services: ServiceSelection,
    /// Asked for by the event; it can only add a dry run, never lift one.
    pub dry_run: bool,
}

/// Why an event was not understood. The message names the field and the value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid event: {0}")]
pub struct TriggerError(pub String);

fn err<T>(message: impl Into<String>) -> Result<T, TriggerError> {
    Err(TriggerError(message.into()))
}

fn selection(ids: BTreeSet<ServiceId>) -> ServiceSelection {
    if ids.is_empty() {
        ServiceSelection::AllGoverned
    } else {
        ServiceSelection::These(ids)
    }
}

/// Every `vpce-svc-<hex>` in `text` (the SNS message body is undocumented: scan it).
pub fn scan_service_ids(text: &str) -> BTreeSet<ServiceId> {
    const PREFIX: &str = "vpce-svc-";
    let mut found = BTreeSet::new();
    let mut rest = text;
    while let Some(at) = rest.find(PREFIX) {
        let after = &rest[at + PREFIX.len()..];
        let hex_len = after
            .bytes()
            .take_while(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(b))
            .count();
        let preceded_by_word = rest[..at]
            .bytes()
            .last()
            .is_some_and(|b| b.is_ascii_alphanumeric() || b == b'-');
        if hex_len > 0
            && !preceded_by_word
            && let Ok(id) = ServiceId::parse(&rest[at..at + PREFIX.len() + hex_len])
        {
            found.insert(id);
        }
        rest = &after[hex_len..];
    }
    found
}

fn scan_value(value: &Value, found: &mut BTreeSet<ServiceId>) {
    match value {
        Value::String(s) => found.extend(scan_service_ids(s)),
        Value::Array(items) => items.iter().for_each(|v| scan_value(v, found)),
        Value::Object(map) => map.values().for_each(|v| scan_value(v, found)),
        _ => {}
    }
}

fn optional_str<'a>(
    obj: &'a Value,
    field: &str,
    path: &str,
) -> Result<Option<&'a str>, TriggerError> {
    match obj.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(other) => err(format!("`{path}` must be a string, found {other}")),
    }
}

/// Parses any trigger event.
pub fn parse_trigger(event: &Value) -> Result<Trigger, TriggerError> {
    let Value::Object(obj) = event else {
        return err(format!("expected a JSON object, found {}", kind_of(event)));
    };
    if obj.contains_key("Records") {
        return parse_sns(event);
    }
    if let Some(detail_type) = obj.get("detail-type") {
        let Value::String(detail_type) = detail_type else {
            return err(format!(
                "`detail-type` must be a string, found {detail_type}"
            ));
        };
        return match detail_type.as_str() {
            "Scheduled Event" => Ok(Trigger {
                kind: TriggerKind::Schedule,
                services: ServiceSelection::AllGoverned,
                dry_run: false,
            }),
            "Endpoint Connection Request" => parse_connection_event(event),
            "AWS API Call via CloudTrail" => parse_cloudtrail(event),
            other => err(format!(
                "unsupported `detail-type` {other:?}: expected \"Scheduled Event\", \"Endpoint Connection Request\" or \"AWS API Call via CloudTrail\""
            )),
        };
    }
    if obj.contains_key("action") {
        return parse_direct(event);
    }
    err(
        "unrecognised event: expected an EventBridge event (`detail-type`), an SNS event (`Records`) or a direct invoke (`action`)",
    )
}

fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn detail(event: &Value) -> Result<&Value, TriggerError> {
    match event.get("detail") {
        None | Some(Value::Null) => Ok(&Value::Null),
        Some(d @ Value::Object(_)) => Ok(d),
        Some(other) => err(format!(
            "`detail` must be an object, found {}",
            kind_of(other)
        )),
    }
}

fn parse_connection_event(event: &Value) -> Result<Trigger, TriggerError> {
    let detail = detail(event)?;
    let mut ids = BTreeSet::new();
    if let Some(service) = optional_str(detail, "serviceId", "detail.serviceId")? {
        ids.insert(
            ServiceId::parse(service)
                .map_err(|e| TriggerError(format!("`detail.serviceId`: {e}")))?,
        );
    }
    if let Some(endpoint) = optional_str(detail, "vpcEndpointId", "detail.vpcEndpointId")? {
        EndpointId::parse(endpoint)
            .map_err(|e| TriggerError(format!("`detail.vpcEndpointId`: {e}")))?;
    }
    Ok(Trigger {
        kind: TriggerKind::ConnectionEvent,
        services: selection(ids),
        dry_run: false,
    })
}

fn parse_cloudtrail(event: &Value) -> Result<Trigger, TriggerError> {
    let detail = detail(event)?;
    match optional_str(detail, "eventName", "detail.eventName")? {
        Some("CreateVpcEndpoint") => {}
        Some(other) => {
            return err(format!(
                "unsupported CloudTrail `detail.eventName` {other:?}: expected \"CreateVpcEndpoint\""
            ));
        }
        None => return err("CloudTrail event without `detail.eventName`"),
    }
    // Parsed loosely: the service is named by id or by name in the request or the response.
    let mut ids = BTreeSet::new();
    for field in ["requestParameters", "responseElements"] {
        if let Some(v) = detail.get(field) {
            scan_value(v, &mut ids);
        }
    }
    Ok(Trigger {
        kind: TriggerKind::CloudTrail,
        services: selection(ids),
        dry_run: false,
    })
}

fn parse_sns(event: &Value) -> Result<Trigger, TriggerError> {
    let Some(Value::Array(records)) = event.get("Records") else {
        return err("`Records` must be an array");
    };
    if records.is_empty() {
        return err("`Records` is empty");
    }
    let mut ids = BTreeSet::new();
    for (i, record) in records.iter().enumerate() {
        let Some(sns) = record.get("Sns").filter(|v| v.is_object()) else {
            return err(format!("`Records[{i}].Sns` is missing: not an SNS event"));
        };
        match sns.get("Message") {
            Some(Value::String(message)) => ids.extend(scan_service_ids(message)),
            _ => return err(format!("`Records[{i}].Sns.Message` must be a string")),
        }
    }
    Ok(Trigger {
        kind: TriggerKind::Sns,
        services: selection(ids),
        dry_run: false,
    })
}

fn parse_direct(event: &Value) -> Result<Trigger, TriggerError> {
    match optional_str(event, "action", "action")? {
        Some("reconcile") => {}
        other => {
            return err(format!(
                "unsupported `action` {other:?}: expected \"reconcile\""
            ));
        }
    }
    let dry_run = match event.get("dryRun") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(other) => return err(format!("`dryRun` must be true or false, found {other}")),
    };
    let ids = match event.get("serviceIds") {
        None | Some(Value::Null) => {
            return err("`serviceIds` is required: a list of endpoint service ids");
        }
        Some(Value::Array(items)) if items.is_empty() => return err("`serviceIds` is empty"),
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(i, v)| match v {
                Value::String(s) => {
                    ServiceId::parse(s).map_err(|e| TriggerError(format!("`serviceIds[{i}]`: {e}")))
                }
                other => err(format!("`serviceIds[{i}]` must be a string, found {other}")),
            })
            .collect::<Result<BTreeSet<_>, _>>()?,
        Some(other) => {
            return err(format!(
                "`serviceIds` must be an array, found {}",
                kind_of(other)
            ));
        }
    };
    Ok(Trigger {
        kind: TriggerKind::Direct,
        services: ServiceSelection::These(ids),
        dry_run,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ids(list: &[&str]) -> ServiceSelection {
        ServiceSelection::These(list.iter().map(|s| ServiceId::parse(s).unwrap()).collect())
    }

    #[test]
    fn scanning_finds_ids_in_free_text() {
        let found = scan_service_ids(
            r#"{"serviceId":"vpce-svc-0a1b","name":"com.amazonaws.vpce.us-east-1.vpce-svc-ff00"} xvpce-svc-12 vpce-svc-"#,
        );
        assert_eq!(
            found.into_iter().map(String::from).collect::<Vec<_>>(),
            ["vpce-svc-0a1b", "vpce-svc-ff00"]
        );
    }

    #[test]
    fn schedule_means_all() {
        let t = parse_trigger(
            &json!({"detail-type": "Scheduled Event", "source": "aws.events", "detail": {}}),
        )
        .unwrap();
        assert_eq!(
            (t.kind, t.services),
            (TriggerKind::Schedule, ServiceSelection::AllGoverned)
        );
    }

    #[test]
    fn malformed_events_name_the_problem() {
        let cases = [
            (json!([]), "expected a JSON object"),
            (json!({}), "unrecognised event"),
            (json!({"detail-type": 5}), "`detail-type` must be a string"),
            (
                json!({"detail-type": "Something"}),
                "unsupported `detail-type` \"Something\"",
            ),
            (
                json!({"detail-type": "Endpoint Connection Request", "detail": {"serviceId": "svc-1"}}),
                "`detail.serviceId`",
            ),
            (
                json!({"detail-type": "Endpoint Connection Request", "detail": {"vpcEndpointId": 3}}),
                "`detail.vpcEndpointId` must be a string",
            ),
            (
                json!({"detail-type": "Endpoint Connection Request", "detail": "x"}),
                "`detail` must be an object",
            ),
            (
                json!({"detail-type": "AWS API Call via CloudTrail", "detail": {"eventName": "DeleteVpcEndpoints"}}),
                "\"DeleteVpcEndpoints\"",
            ),
            (
                json!({"detail-type": "AWS API Call via CloudTrail", "detail": {}}),
                "without `detail.eventName`",
            ),
            (json!({"Records": {}}), "`Records` must be an array"),
            (json!({"Records": []}), "`Records` is empty"),
            (
                json!({"Records": [{"EventSource": "aws:sqs", "body": "x"}]}),
                "`Records[0].Sns` is missing",
            ),
            (
                json!({"Records": [{"Sns": {"Message": 1}}]}),
                "`Records[0].Sns.Message` must be a string",
            ),
            (
                json!({"action": "delete"}),
                "unsupported `action` Some(\"delete\")",
            ),
            (json!({"action": "reconcile"}), "`serviceIds` is required"),
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
                "`dryRun` must be true or false",
            ),
        ];
        for (event, expected) in cases {
            let e = parse_trigger(&event).unwrap_err().to_string();
            assert!(
                e.contains(expected),
                "{event}: {e} should contain {expected}"
            );
        }
    }

    #[test]
    fn direct_invoke_with_dry_run() {
        let t = parse_trigger(
            &json!({"action": "reconcile", "serviceIds": ["vpce-svc-0a"], "dryRun": true}),
        )
        .unwrap();
        assert_eq!(
            (t.kind, t.services, t.dry_run),
            (TriggerKind::Direct, ids(&["vpce-svc-0a"]), true)
        );
    }

    #[test]
    fn connection_event_without_service_means_all() {
        let t = parse_trigger(
            &json!({"detail-type": "Endpoint Connection Request", "source": "custom"}),
        )
        .unwrap();
        assert_eq!(t.services, ServiceSelection::AllGoverned);
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
                    prop_assert!(ids.iter().all(|id| ServiceId::parse(id.as_str()).is_ok()));
                },
                Err(err) => prop_assert!(err.to_string().starts_with("invalid event: ")),
            }
        }

        #[test]
        fn scanning_any_text_finds_only_valid_ids(text in "\\PC{0,200}", inserted in "[0-9a-f]{1,17}") {
            let found = scan_service_ids(&text);
            prop_assert!(found.iter().all(|id| text.contains(id.as_str())));
            let with_id = format!("{text} vpce-svc-{inserted} ");
            let expected = ServiceId::parse(&format!("vpce-svc-{inserted}")).unwrap();
            prop_assert!(scan_service_ids(&with_id).contains(&expected));
        }
    }
}
