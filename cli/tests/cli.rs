//! The built `plgov` binary against the local emulator.

use std::process::{Command, Output};

use aws_sdk_ec2::types::Filter;
use plgov_integration_tests::*;
use plgov_shared::tables::RawValue;
use serde_json::Value;

struct Plgov {
    provider: Provider,
    env: Vec<(String, String)>,
}

impl Plgov {
    async fn new() -> Self {
        let provider = Provider::new().await;
        let env = credentials_env(&provider.account).await;
        Self { provider, env }
    }

    fn run(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_plgov"))
            .args([
                "--allowlist-table",
                ALLOWLIST_TABLE,
                "--audit-table",
                AUDIT_TABLE,
            ])
            .args(args)
            .env_remove("AWS_PROFILE")
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .output()
            .expect("run plgov")
    }

    /// Runs with --json, expects success, returns the parsed output.
    fn json(&self, args: &[&str]) -> Value {
        let mut all = args.to_vec();
        all.push("--json");
        let out = self.run(&all);
        assert!(
            out.status.success(),
            "plgov {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "plgov {args:?} printed no JSON ({e}): {}",
                String::from_utf8_lossy(&out.stdout)
            )
        })
    }

    async fn allowlist_len(&self) -> usize {
        self.provider.allowlist().entries().await.unwrap().len()
    }

    async fn states(&self, service: &str) -> Vec<(String, String)> {
        let ec2 = aws_sdk_ec2::Client::new(&self.provider.sdk);
        let out = ec2
            .describe_vpc_endpoint_connections()
            .filters(Filter::builder().name("service-id").values(service).build())
            .send()
            .await
            .unwrap();
        let mut states: Vec<_> = out
            .vpc_endpoint_connections()
            .iter()
            .map(|c| {
                (
                    c.vpc_endpoint_id().unwrap().to_owned(),
                    c.vpc_endpoint_state().unwrap().as_str().to_owned(),
                )
            })
            .collect();
        states.sort();
        states
    }
}

/// The approver's settings, given as flags (a stack would give them as parameters).
const DEPLOYMENT: [&str; 10] = [
    "--governed-services",
    "all",
    "--unmatched-action",
    "reject",
    "--deployment-dry-run",
    "false",
    "--audit-retention-days",
    "400",
    "--namespace",
    "PrivateLinkGovernor",
];

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[tokio::test]
async fn rules_add_list_remove_round_trip() {
    let p = Plgov::new().await;
    let service = create_service(&p.provider.account, true).await;
    let service = service.as_str();
    let added = p.json(&[
        "allow",
        "add",
        "--service",
        service,
        "--account",
        "arn:aws:iam::111122223333:root",
        "--expires",
        "30d",
        "--note",
        "partner team",
    ]);
    assert_eq!(added["result"], "added");
    assert_eq!(
        added["account"], "111122223333",
        "an ARN is stored as its account id"
    );
    p.json(&["deny", "add", "--service", "*", "--account", "444455556666"]);

    let rules = p.json(&["rules", "list", "--service", service]);
    let rows = rules.as_array().unwrap();
    assert_eq!(rows.len(), 2);
    let allow = rows
        .iter()
        .find(|r| r["account"] == "111122223333")
        .unwrap();
    assert_eq!(
        (
            allow["effect"].as_str(),
            allow["status"].as_str(),
            allow["note"].as_str()
        ),
        (Some("allow"), Some("live"), Some("partner team"))
    );
    assert!(
        allow["createdBy"]
            .as_str()
            .unwrap()
            .contains(&p.provider.account),
        "caller identity recorded"
    );
    assert!(!allow["expiresAt"].as_str().unwrap().is_empty());
    let table = p.run(&["rules", "list"]);
    assert!(table.status.success());
    let text = String::from_utf8_lossy(&table.stdout);
    assert!(
        text.contains("SERVICE") && text.contains("444455556666"),
        "{text}"
    );

    let removed = p.json(&[
        "rules",
        "remove",
        "--service",
        service,
        "--account",
        "111122223333",
    ]);
    assert_eq!(removed["result"], "removed");
    assert_eq!(
        p.json(&["rules", "list", "--service", service])
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let again = p.run(&[
        "rules",
        "remove",
        "--service",
        service,
        "--account",
        "111122223333",
    ]);
    assert_eq!(again.status.code(), Some(2));
    assert!(stderr(&again).contains("no rule for service"));
}

#[tokio::test]
async fn invalid_input_is_refused_naming_it_and_nothing_is_written() {
    let p = Plgov::new().await;
    for (args, names) in [
        (
            vec![
                "allow",
                "add",
                "--service",
                "vpce-svc-0a",
                "--account",
                "12345",
            ],
            "\"12345\"",
        ),
        (
            vec![
                "allow",
                "add",
                "--service",
                "svc-0a",
                "--account",
                "111122223333",
            ],
            "\"svc-0a\"",
        ),
        (
            vec![
                "allow",
                "add",
                "--service",
                "vpce-svc-0a",
                "--account",
                "111122223333",
                "--expires",
                "soon",
            ],
            "--expires: \"soon\"",
        ),
        (
            vec![
                "allow",
                "add",
                "--service",
                "vpce-svc-0a",
                "--account",
                "111122223333",
                "--expires",
                "2020-01-01",
            ],
            "in the past",
        ),
        (
            vec![
                "deny",
                "add",
                "--service",
                "vpce-svc-0a",
                "--account",
                "arn:aws:s3:::bucket",
            ],
            "arn:aws:s3:::bucket",
        ),
    ] {
        let out = p.run(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).contains(names), "{args:?}: {}", stderr(&out));
    }
    let everyone = p.run(&["allow", "add", "--service", "*", "--account", "*"]);
    assert_eq!(everyone.status.code(), Some(3));
    assert!(stderr(&everyone).contains("--all-accounts-all-services"));
    assert_eq!(p.allowlist_len().await, 0, "nothing written");

    // A service id that is not an endpoint service of the account: refused, its services listed,
    // unless the rule is for a service still to come.
    let real = create_service(&p.provider.account, true).await;
    let typo = p.run(&[
        "allow",
        "add",
        "--service",
        "vpce-svc-0a",
        "--account",
        "111122223333",
    ]);
    assert_eq!(typo.status.code(), Some(2));
    assert!(
        stderr(&typo).contains("vpce-svc-0a is not an endpoint service of this account")
            && stderr(&typo).contains(&real)
            && stderr(&typo).contains("--not-yet-created"),
        "{}",
        stderr(&typo)
    );
    for args in [
        vec![
            "policy",
            "set",
            "--service",
            "vpce-svc-0a",
            "--revoke",
            "on",
        ],
        vec!["reconcile", "--service", "vpce-svc-0a"],
    ] {
        let out = p.run(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).contains("is not an endpoint service"));
    }
    assert_eq!(p.allowlist_len().await, 0, "nothing written");
    p.json(&[
        "allow",
        "add",
        "--service",
        "vpce-svc-0a",
        "--account",
        "111122223333",
        "--note",
        "first",
        "--not-yet-created",
    ]);
    let duplicate = p.run(&[
        "allow",
        "add",
        "--service",
        "vpce-svc-0a",
        "--account",
        "111122223333",
        "--note",
        "second",
        "--not-yet-created",
    ]);
    assert_eq!(duplicate.status.code(), Some(3));
    assert!(stderr(&duplicate).contains("--replace"));
    let kept = p.json(&["rules", "list", "--service", "vpce-svc-0a"]);
    assert_eq!(kept[0]["note"], "first", "not overwritten");
    let replaced = p.json(&[
        "deny",
        "add",
        "--service",
        "vpce-svc-0a",
        "--account",
        "111122223333",
        "--replace",
        "--not-yet-created",
    ]);
    assert_eq!(replaced["result"], "replaced");
    assert_eq!(
        p.json(&["rules", "list", "--service", "vpce-svc-0a"])[0]["effect"],
        "deny"
    );
}

#[tokio::test]
async fn explain_agrees_with_what_reconcile_then_does_and_dry_runs_change_nothing() {
    let p = Plgov::new().await;
    let service = create_service(&p.provider.account, true).await;
    let (allowed, unmatched) = (random_account(), random_account());
    let allowed_endpoint = create_endpoint(&allowed, &service, 1).await;
    let unmatched_endpoint = create_endpoint(&unmatched, &service, 1).await;
    p.json(&["allow", "add", "--service", &service, "--account", &allowed]);

    let explain_allowed = p.json(&["explain", "--service", &service, "--account", &allowed]);
    let explain_unmatched = p.json(&["explain", "--service", &service, "--account", &unmatched]);
    assert_eq!(explain_allowed["decision"], "accept");
    assert_eq!(explain_unmatched["decision"], "reject");
    assert!(
        explain_unmatched["reason"]
            .as_str()
            .unwrap()
            .contains("unmatched=reject")
    );

    let before = p.states(&service).await;
    let listed = p.json(&["connections", "--service", &service]);
    let would: Vec<(String, String)> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["endpoint"].as_str().unwrap().to_owned(),
                r["decision"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert!(would.contains(&(allowed_endpoint.clone(), "accept".into())));
    assert!(would.contains(&(unmatched_endpoint.clone(), "reject".into())));
    let dry = p.json(
        &[
            &DEPLOYMENT[..],
            &["reconcile", "--service", &service, "--dry-run"],
        ]
        .concat(),
    );
    assert_eq!(dry["dryRun"], true);
    assert_eq!(dry["accepted"], serde_json::json!([allowed_endpoint]));
    assert_eq!(
        p.states(&service).await,
        before,
        "connections and reconcile --dry-run changed nothing"
    );
    let audit = p.json(&["audit", "--service", &service]);
    assert!(
        audit
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["dryRun"] == true),
        "a dry run is audited as one"
    );

    let done = p.json(&[&DEPLOYMENT[..], &["reconcile", "--service", &service]].concat());
    assert_eq!(done["accepted"], serde_json::json!([allowed_endpoint]));
    assert_eq!(done["rejected"], serde_json::json!([unmatched_endpoint]));
    let after: std::collections::BTreeMap<_, _> = p.states(&service).await.into_iter().collect();
    assert_eq!(after[&allowed_endpoint], "available", "explain said accept");
    assert_eq!(
        after[&unmatched_endpoint], "rejected",
        "explain said reject"
    );
    let audit = p.json(&["audit", "--service", &service, "--since", "1h"]);
    assert_eq!(
        audit
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["dryRun"] == false)
            .count(),
        2
    );

    // A policy change shows up in explain before any reconcile acts on it.
    p.json(&[
        "policy",
        "set",
        "--service",
        &service,
        "--unmatched",
        "leave",
        "--revoke",
        "on",
    ]);
    let shown = p.json(&["policy", "show", "--service", &service]);
    assert_eq!(shown[0]["effective"]["unmatched"], "leave");
    assert_eq!(
        p.json(&[
            "explain",
            "--service",
            &service,
            "--account",
            &random_account()
        ])["decision"],
        "leave"
    );
    p.provider.delete_item(&service, &allowed).await;
    assert_eq!(
        p.json(&["explain", "--service", &service, "--account", &allowed])["ifEstablished"]["decision"],
        "revoke"
    );
}

#[tokio::test]
async fn cost_estimate_matches_the_hand_computed_figures() {
    let p = Plgov::new().await;
    let e = p.json(&[
        "cost",
        "estimate",
        "--region",
        "us-east-1",
        "--azs",
        "2",
        "--gb-per-month",
        "1000",
    ]);
    // Hours: 2 AZ x $0.01 x 730 h = $14.60. Data: 1,000 GB x $0.01 = $10.00. Total $24.60.
    // Via NAT: 1,000 GB x $0.045 = $45.00. Savings $20.40. Break-even: $14.60 / ($0.045 - $0.01) = 417.14 GB.
    let close = |k: &str, v: f64| {
        assert!(
            (e[k].as_f64().unwrap() - v).abs() < 1e-9,
            "{k}: {} != {v}",
            e[k]
        )
    };
    close("endpointHourlyCost", 14.6);
    close("endpointDataCost", 10.0);
    close("endpointCost", 24.6);
    close("natEquivalentCost", 45.0);
    close("natSavings", 20.4);
    close("breakEvenGbPerMonth", 14.6 / 0.035);
    let text = p.run(&[
        "cost",
        "estimate",
        "--region",
        "us-east-1",
        "--azs",
        "2",
        "--gb-per-month",
        "1000",
    ]);
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(
        text.contains("$24.60") && text.contains("$20.40") && text.contains("417.1 GB"),
        "{text}"
    );
    assert!(
        text.contains("rates from the AWS Price List (read "),
        "{text}"
    );
    assert_eq!(e["rates"]["source"], "priceList");
    let unknown = p.run(&[
        "cost",
        "estimate",
        "--region",
        "mars-1",
        "--azs",
        "1",
        "--gb-per-month",
        "1",
    ]);
    assert_eq!(unknown.status.code(), Some(2));
    assert!(
        stderr(&unknown).contains("no prices for region mars-1: the Price List could not be used"),
        "{}",
        stderr(&unknown)
    );
}

/// A Price List record as `GetProducts` answers it: (begin GB, end GB, USD) per dimension.
fn price_record(usage_type: &str, family: &str, dims: &[(&str, &str, &str)]) -> Value {
    let sku = usage_type.replace('-', "");
    let dimensions: serde_json::Map<String, Value> = dims
        .iter()
        .enumerate()
        .map(|(i, (begin, end, usd))| {
            (
                format!("{sku}.JRTCKXETXF.R{i}"),
                serde_json::json!({"beginRange": begin, "endRange": end, "unit": "GB",
                    "pricePerUnit": {"USD": usd}, "appliesTo": [], "description": usage_type,
                    "rateCode": format!("{sku}.JRTCKXETXF.R{i}")}),
            )
        })
        .collect();
    serde_json::json!({
        "product": {"productFamily": family, "sku": sku,
            "attributes": {"usagetype": usage_type, "regionCode": "sa-east-1",
                "location": "South America (Sao Paulo)", "servicecode": "AmazonVPC"}},
        "serviceCode": "AmazonVPC",
        "terms": {"OnDemand": {format!("{sku}.JRTCKXETXF"): {"priceDimensions": dimensions,
            "sku": sku, "offerTermCode": "JRTCKXETXF", "effectiveDate": "2026-09-01T00:00:00Z",
            "termAttributes": {}}}},
        "version": "test", "publicationDate": "2026-09-01T00:00:00Z",
    })
}

#[tokio::test]
async fn cost_estimate_and_rates_work_in_sa_east_1_from_the_price_list() {
    let p = Plgov::new().await;
    let args = [
        "cost",
        "estimate",
        "--region",
        "sa-east-1",
        "--azs",
        "2",
        "--gb-per-month",
        "1000",
    ];
    // The emulator's Price List has São Paulo's NAT Gateway records but no confirmed interface
    // endpoint rate: the command says what it tried and that nothing has the region.
    let missing = p.run(&args);
    assert_eq!(missing.status.code(), Some(2));
    assert!(
        stderr(&missing).contains(
            "no prices for region sa-east-1: the Price List could not be used (Price List sa-east-1 VpcEndpoint-Hours: no record) and the built-in table does not have it"
        ),
        "{}",
        stderr(&missing)
    );
    // The Price List gets this account endpoint records for the region (test prices: $0.02 per
    // AZ-hour, the standard tiers); NAT is the fixture's real $0.093 per hour and per GB.
    let records = [
        price_record(
            "SAE1-VpcEndpoint-Hours",
            "VpcEndpoint",
            &[("0", "Inf", "0.0200000000")],
        ),
        price_record(
            "SAE1-VpcEndpoint-Bytes",
            "VpcEndpoint",
            &[
                ("0", "1048576", "0.0100000000"),
                ("1048576", "5242880", "0.0060000000"),
                ("5242880", "Inf", "0.0040000000"),
            ],
        ),
    ];
    let body = serde_json::json!({"account": p.provider.account, "serviceCode": "AmazonVPC", "records": records});
    let (status, text) = http("POST", "/_plgov/pricelist", &body.to_string());
    assert_eq!(status, 200, "{text}");
    let e = p.json(&args);
    let (status, _) = http(
        "DELETE",
        &format!("/_plgov/pricelist?account={}", p.provider.account),
        "",
    );
    assert_eq!(status, 200);
    // Hours: 2 AZ x $0.02 x 730 = $29.20. Data: 1,000 GB x $0.01 = $10. Via NAT: 1,000 x $0.093 = $93.
    let close = |k: &str, v: f64| {
        assert!(
            (e[k].as_f64().unwrap() - v).abs() < 1e-9,
            "{k}: {} != {v}",
            e[k]
        )
    };
    close("endpointCost", 39.2);
    close("natEquivalentCost", 93.0);
    close("natSavings", 53.8);
    assert_eq!(e["rates"]["source"], "priceList");
    assert!(e["rates"].get("fallbackReason").is_none());

    // `cost rates` shows the region's rates and their source; with the Price List refusing, the
    // built-in table answers for a region it has, and says why.
    let r = p.json(&["cost", "rates", "--region", "eu-west-2"]);
    assert_eq!(r["rates"]["endpointAzHour"], 0.011);
    assert_eq!(r["rates"]["dataTiers"][1]["upToGb"], 5_242_880.0);
    assert_eq!(r["source"]["source"], "priceList");
    arm_fault(
        serde_json::json!({"operation": "GetProducts", "account": p.provider.account,
        "error": "AccessDeniedException", "count": -1}),
    );
    let builtin = p.json(&["cost", "rates", "--region", "us-east-1"]);
    let text = p.run(&["cost", "rates", "--region", "us-east-1"]);
    disarm_faults(&p.provider.account);
    assert_eq!(builtin["source"]["source"], "builtIn");
    assert!(
        builtin["source"]["fallbackReason"]
            .as_str()
            .unwrap()
            .contains("AccessDeniedException")
    );
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(text.contains("rates from the built-in table (the Price List was not used: GetProducts failed: access denied: the identity in use may not call GetProducts (AccessDeniedException"), "{text}");
    assert!(
        text.contains("interface endpoint, per AZ-hour   $0.01"),
        "{text}"
    );
}

#[tokio::test]
async fn reconcile_acts_only_with_the_deployment_settings_and_names_the_operator() {
    let p = Plgov::new().await;
    let service = create_service(&p.provider.account, true).await;
    let consumer = random_account();
    let endpoint = create_endpoint(&consumer, &service, 1).await;
    p.json(&[
        "allow",
        "add",
        "--service",
        &service,
        "--account",
        &consumer,
    ]);

    // Without --stack and without every setting: refused, nothing changed, naming what is missing.
    let bare = p.run(&["reconcile", "--service", &service]);
    assert_eq!(bare.status.code(), Some(2), "{}", stderr(&bare));
    assert!(
        stderr(&bare).contains("--governed-services") && stderr(&bare).contains("--stack"),
        "{}",
        stderr(&bare)
    );
    let partial = p.run(&[
        "reconcile",
        "--governed-services",
        "all",
        "--unmatched-action",
        "reject",
    ]);
    assert_eq!(partial.status.code(), Some(2));
    assert!(
        stderr(&partial).contains("--deployment-dry-run"),
        "{}",
        stderr(&partial)
    );
    let bad = p.run(
        &[
            &DEPLOYMENT[..6],
            &[
                "--audit-retention-days",
                "0",
                "--namespace",
                "PrivateLinkGovernor",
                "reconcile",
            ],
        ]
        .concat(),
    );
    assert_eq!(bad.status.code(), Some(2));
    assert!(
        stderr(&bad).contains("--audit-retention-days is \"0\""),
        "{}",
        stderr(&bad)
    );
    assert_eq!(
        p.states(&service).await,
        [(endpoint.clone(), "pendingAcceptance".to_owned())]
    );

    // A deployment in dry run stays a dry run for the operator too.
    let mut dry_deployment = DEPLOYMENT;
    dry_deployment[5] = "true";
    let dry = p.json(&[&dry_deployment[..], &["reconcile", "--service", &service]].concat());
    assert_eq!(dry["dryRun"], true);
    assert_eq!(
        p.states(&service).await,
        [(endpoint.clone(), "pendingAcceptance".to_owned())]
    );

    let done = p.json(&[&DEPLOYMENT[..], &["reconcile", "--service", &service]].concat());
    assert_eq!(done["accepted"], serde_json::json!([endpoint]));
    assert_eq!(done["decisions"][0]["outcome"]["result"], "changed");
    let audit = p.json(&["audit", "--service", &service]);
    let live = audit
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["dryRun"] == false)
        .unwrap();
    let trigger = live["trigger"].as_str().unwrap();
    assert!(
        trigger.starts_with("operator:arn:") && trigger.contains(&p.provider.account),
        "{trigger}"
    );
    assert_eq!(live["outcome"], "changed");
}

#[tokio::test]
async fn malformed_items_are_listed_as_malformed_and_a_malformed_policy_is_not_overwritten() {
    let p = Plgov::new().await;
    let service = "vpce-svc-0123456789abcdef0";
    p.provider
        .put_raw(&[
            ("pk", RawValue::S(service.into())),
            ("sk", RawValue::S("111122223333".into())),
            ("Effect", RawValue::S("deny".into())),
        ])
        .await;
    p.provider
        .put_raw(&[
            ("pk", RawValue::S(service.into())),
            ("sk", RawValue::S("#policy".into())),
            ("dry_run", RawValue::S("true".into())),
        ])
        .await;
    let rules = p.json(&["rules", "list", "--service", service]);
    let [row] = &rules.as_array().unwrap()[..] else {
        panic!("{rules}")
    };
    assert_eq!(row["malformed"], true);
    assert!(
        row["problem"]
            .as_str()
            .unwrap()
            .contains("unknown attribute `Effect`")
    );
    let text = String::from_utf8_lossy(&p.run(&["rules", "list"]).stdout).into_owned();
    assert!(text.contains("MALFORMED, holds service"), "{text}");

    let shown = p.json(&["policy", "show", "--service", service]);
    assert_eq!(shown[0]["malformed"], true);
    assert!(
        shown[0]["problem"]
            .as_str()
            .unwrap()
            .contains("`dry_run` must be a boolean")
    );
    let set = p.run(&[
        "policy",
        "set",
        "--service",
        service,
        "--revoke",
        "on",
        "--not-yet-created",
    ]);
    assert_eq!(set.status.code(), Some(3), "{}", stderr(&set));
    assert!(stderr(&set).contains("policy remove"), "{}", stderr(&set));
    let explained = p.json(&["explain", "--service", service, "--account", "111122223333"]);
    assert_eq!(explained["decision"], "hold");
    assert_eq!(explained["policyMalformed"], true);

    p.json(&["policy", "remove", "--service", service]);
    p.json(&[
        "policy",
        "set",
        "--service",
        service,
        "--dry-run",
        "on",
        "--not-yet-created",
    ]);
    assert_eq!(
        p.json(&["policy", "show", "--service", service])[0]["set"]["dryRun"],
        true
    );
    let removed = p.json(&[
        "rules",
        "remove",
        "--service",
        service,
        "--account",
        "111122223333",
        "--exact",
    ]);
    assert_eq!(removed["result"], "removed");
    assert_eq!(p.allowlist_len().await, 1, "only the policy is left");
}
