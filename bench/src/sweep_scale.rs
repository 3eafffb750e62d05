//! The approver's sweep against the number of services: a sweep with nothing to decide over 5
//! and over 1,000 services, then 1,000 services with 10 pending connections each (5 from an
//! allowed account, 5 from another), beside what the per-service sweep of earlier versions
//! made for the same work (one DescribeVpcEndpointServiceConfigurations, the Scan, then one
//! DescribeVpcEndpointConnections per service, whether it had anything or not, and the audit
//! records of each service in transactions of their own).

use std::path::PathBuf;

use plgov_integration_tests::*;
use serde_json::{Value, json};

use crate::runner::{calls_of, delta, ms, run_function};

fn sweep(
    approver: &PathBuf,
    env: &[(String, String)],
    account: &str,
    label: &str,
    services: usize,
    connections: usize,
) -> Value {
    let event = json!({"detail-type": "Scheduled Event", "source": "aws.events", "detail": {}});
    let before = calls_of(account);
    let run = run_function(approver, env, Some(&event));
    let calls = delta(&before, &calls_of(account));
    let total: u64 = calls.values().sum();
    let summary = run.response.expect("sweep result");
    let count = |k: &str| summary[k].as_array().map_or(0, Vec::len);
    assert!(
        summary["errors"].as_array().is_some_and(Vec::is_empty),
        "{label}: {}",
        summary["errors"]
    );
    // The per-service design: its listing of services and one listing per service, in place of
    // this design's listings of connections, and a decision and an outcome transaction for each
    // service that decided something (at most 100 records each here), in place of this design's
    // transactions of several services; every other call the same.
    let made = |op: &str| calls.get(op).copied().unwrap_or(0);
    let decided_services = summary["decisions"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|d| d.get("outcome").is_some())
        .filter_map(|d| d["serviceId"].as_str())
        .collect::<std::collections::BTreeSet<_>>()
        .len() as u64;
    let per_service =
        total - made("ec2:DescribeVpcEndpointConnections") - made("dynamodb:TransactWriteItems")
            + 1
            + services as u64
            + 2 * decided_services;
    json!({
        "label": label, "services": services, "connections": connections,
        "accepted": count("accepted"), "rejected": count("rejected"),
        "wallMs": ms(run.invocation.expect("invoked")), "callsByOperation": calls,
        "totalCalls": total, "perServiceDesignCalls": per_service,
    })
}

pub async fn scenario(approver: &PathBuf) -> Value {
    let mut figures = Vec::new();
    for services in [5usize, 1000] {
        eprintln!("[bench] sweep scale: {services} endpoint services");
        let provider = Provider::new().await;
        let account = provider.account.clone();
        // One at a time: moto's network ACL code races when subnets of one account are created
        // side by side.
        let mut ids = Vec::new();
        for _ in 0..services {
            ids.push(create_service(&account, true).await);
        }
        let (allowed, other) = (random_account(), random_account());
        provider.put_rule("*", &allowed, "allow").await;
        let mut env = credentials_env(&account).await;
        env.extend([
            ("ALLOWLIST_TABLE".into(), ALLOWLIST_TABLE.into()),
            ("AUDIT_TABLE".into(), AUDIT_TABLE.into()),
            ("ACCOUNT_ID".into(), account.clone()),
            ("CONNECTION_TOPIC_ARN".into(), provider.topic_arn()),
        ]);
        figures.push(sweep(
            approver,
            &env,
            &account,
            "sweep, nothing to decide",
            services,
            0,
        ));
        if services < 1000 {
            continue;
        }
        eprintln!("[bench] sweep scale: 10 pending connections on each of {services} services");
        for service in &ids {
            for consumer in [&allowed, &other] {
                create_endpoints(consumer, service, 5).await;
            }
        }
        figures.push(sweep(
            approver,
            &env,
            &account,
            "sweep, 10 pending a service",
            services,
            services * 10,
        ));
        figures.push(sweep(
            approver,
            &env,
            &account,
            "sweep again, nothing to decide",
            services,
            0,
        ));
    }
    json!(figures)
}
