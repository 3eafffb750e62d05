//! Endpoint connections over the EC2 API.

use aws_sdk_ec2::types::Filter;

use super::sdk_error::port_error;
use crate::domain::cost::EndpointKind;
use crate::domain::decision::Connection;
use crate::domain::findings::ServiceSetup;
use crate::domain::inventory::Endpoint;
use crate::domain::{AccountId, ConnectionState, EndpointId, ServiceId};
use crate::ports::{ConnectionList, Connections, PortError, Unsuccessful};

/// The largest page DescribeVpcEndpointConnections and DescribeVpcEndpointServiceConfigurations allow.
const PAGE_SIZE: i32 = 1000;
/// Service ids per `service-id` filter of one DescribeVpcEndpointConnections.
const SERVICE_FILTER_VALUES: usize = 200;

#[derive(Debug, Clone)]
pub struct Ec2Connections {
    client: aws_sdk_ec2::Client,
}

impl Ec2Connections {
    pub fn new(client: aws_sdk_ec2::Client) -> Self {
        Self { client }
    }
}

fn to_connection(raw: &aws_sdk_ec2::types::VpcEndpointConnection) -> Result<Connection, String> {
    let endpoint = raw.vpc_endpoint_id().unwrap_or_default();
    let parsed = (|| {
        Ok::<_, crate::domain::IdError>(Connection {
            service: ServiceId::parse(raw.service_id().unwrap_or_default())?,
            endpoint: EndpointId::parse(endpoint)?,
            owner: AccountId::parse(raw.vpc_endpoint_owner().unwrap_or_default())?,
            // Never the SDK's enum variant: it cannot parse camelCase (aws-sdk-rust#619).
            state: ConnectionState::parse(
                raw.vpc_endpoint_state()
                    .map(|s| s.as_str())
                    .unwrap_or_default(),
            ),
        })
    })();
    parsed.map_err(|e| format!("connection of endpoint {endpoint:?} not decided: {e}"))
}

/// The ids an Accept or Reject call did not change. An id that does not read as an endpoint id
/// makes the whole answer unreadable: which endpoint failed is then unknown, so none counts as done.
fn unsuccessful(
    operation: &'static str,
    items: &[aws_sdk_ec2::types::UnsuccessfulItem],
) -> Result<Vec<Unsuccessful>, PortError> {
    items
        .iter()
        .map(|item| {
            let endpoint =
                EndpointId::parse(item.resource_id().unwrap_or_default()).map_err(|e| {
                    PortError {
                        operation,
                        code: Some("UnreadableResponse".into()),
                        message: format!("an Unsuccessful item names no endpoint: {e}"),
                        retryable: false,
                        kind: crate::ports::ErrorKind::Other,
                        detail: None,
                    }
                })?;
            Ok(Unsuccessful {
                endpoint,
                code: item
                    .error()
                    .and_then(|e| e.code())
                    .unwrap_or("Unknown")
                    .to_owned(),
                message: item
                    .error()
                    .and_then(|e| e.message())
                    .unwrap_or_default()
                    .to_owned(),
            })
        })
        .collect()
}

impl Connections for Ec2Connections {
    async fn list_services(&self) -> Result<Vec<ServiceId>, PortError> {
        let mut pages = self
            .client
            .describe_vpc_endpoint_service_configurations()
            .max_results(PAGE_SIZE)
            .into_paginator()
            .send();
        let mut services = Vec::new();
        while let Some(page) = pages.next().await {
            let page =
                page.map_err(|e| port_error("DescribeVpcEndpointServiceConfigurations", e))?;
            for config in page.service_configurations() {
                match config.service_id().map(ServiceId::parse) {
                    Some(Ok(id)) => services.push(id),
                    other => {
                        tracing::warn!(service = ?other, "endpoint service with an unusable id skipped")
                    }
                }
            }
        }
        Ok(services)
    }

    async fn connections(
        &self,
        services: Option<&[ServiceId]>,
        states: &[ConnectionState],
    ) -> Result<ConnectionList, PortError> {
        let state_filter = Filter::builder()
            .name("vpc-endpoint-state")
            .set_values(Some(
                states.iter().map(|s| s.as_wire_str().to_owned()).collect(),
            ))
            .build();
        // Without services: one listing of the whole account. With them: a service-id filter,
        // in chunks that keep each filter's list of values short.
        let chunks: Vec<Option<&[ServiceId]>> = match services {
            None => vec![None],
            Some(named) => named.chunks(SERVICE_FILTER_VALUES).map(Some).collect(),
        };
        let mut list = ConnectionList::default();
        for chunk in chunks {
            let mut request = self
                .client
                .describe_vpc_endpoint_connections()
                .filters(state_filter.clone())
                .max_results(PAGE_SIZE);
            if let Some(ids) = chunk {
                request = request.filters(
                    Filter::builder()
                        .name("service-id")
                        .set_values(Some(ids.iter().map(ToString::to_string).collect()))
                        .build(),
                );
            }
            let mut pages = request.into_paginator().send();
            while let Some(page) = pages.next().await {
                let page = page.map_err(|e| port_error("DescribeVpcEndpointConnections", e))?;
                for raw in page.vpc_endpoint_connections() {
                    match to_connection(raw) {
                        // The filter is a request; only what it asked for is decided.
                        Ok(conn)
                            if chunk.is_none_or(|ids| ids.contains(&conn.service))
                                && states.contains(&conn.state) =>
                        {
                            list.connections.push(conn)
                        }
                        Ok(_) => {}
                        Err(malformed) => list.malformed.push(malformed),
                    }
                }
            }
        }
        Ok(list)
    }

    async fn accept(
        &self,
        service: &ServiceId,
        endpoints: &[EndpointId],
    ) -> Result<Vec<Unsuccessful>, PortError> {
        let out = self
            .client
            .accept_vpc_endpoint_connections()
            .service_id(service.as_str())
            .set_vpc_endpoint_ids(Some(endpoints.iter().map(ToString::to_string).collect()))
            .send()
            .await
            .map_err(|e| port_error("AcceptVpcEndpointConnections", e))?;
        unsuccessful("AcceptVpcEndpointConnections", out.unsuccessful())
    }

    async fn reject(
        &self,
        service: &ServiceId,
        endpoints: &[EndpointId],
    ) -> Result<Vec<Unsuccessful>, PortError> {
        let out = self
            .client
            .reject_vpc_endpoint_connections()
            .service_id(service.as_str())
            .set_vpc_endpoint_ids(Some(endpoints.iter().map(ToString::to_string).collect()))
            .send()
            .await
            .map_err(|e| port_error("RejectVpcEndpointConnections", e))?;
        unsuccessful("RejectVpcEndpointConnections", out.unsuccessful())
    }

    async fn service_setups(
        &self,
        services: Option<&[ServiceId]>,
    ) -> Result<Vec<ServiceSetup>, PortError> {
        if services.is_some_and(<[ServiceId]>::is_empty) {
            return Ok(Vec::new());
        }
        let mut acceptance = std::collections::BTreeMap::new();
        // Asked by id, an id the account does not own would fail the call: all are listed.
        let mut pages = self
            .client
            .describe_vpc_endpoint_service_configurations()
            .max_results(PAGE_SIZE)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page =
                page.map_err(|e| port_error("DescribeVpcEndpointServiceConfigurations", e))?;
            for c in page.service_configurations() {
                if let Some(id) = c.service_id() {
                    acceptance.insert(id.to_owned(), c.acceptance_required().unwrap_or(false));
                }
            }
        }
        let mut topics: std::collections::BTreeMap<String, Vec<String>> = Default::default();
        let mut pages = self
            .client
            .describe_vpc_endpoint_connection_notifications()
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page =
                page.map_err(|e| port_error("DescribeVpcEndpointConnectionNotifications", e))?;
            for n in page.connection_notification_set() {
                if let (Some(service), Some(topic)) =
                    (n.service_id(), n.connection_notification_arn())
                {
                    topics
                        .entry(service.to_owned())
                        .or_default()
                        .push(topic.to_owned());
                }
            }
        }
        let owned: Vec<ServiceId> = acceptance
            .keys()
            .filter_map(|id| ServiceId::parse(id).ok())
            .filter(|id| services.is_none_or(|wanted| wanted.contains(id)))
            .collect();
        let mut out = Vec::new();
        for service in &owned {
            let mut principals = Vec::new();
            let mut pages = self
                .client
                .describe_vpc_endpoint_service_permissions()
                .service_id(service.as_str())
                .max_results(PAGE_SIZE)
                .into_paginator()
                .send();
            while let Some(page) = pages.next().await {
                let page =
                    page.map_err(|e| port_error("DescribeVpcEndpointServicePermissions", e))?;
                principals.extend(
                    page.allowed_principals()
                        .iter()
                        .filter_map(|p| p.principal().map(str::to_owned)),
                );
            }
            out.push(ServiceSetup {
                service: service.clone(),
                acceptance_required: acceptance[service.as_str()],
                allowed_principals: principals,
                notification_topics: topics.remove(service.as_str()).unwrap_or_default(),
            });
        }
        Ok(out)
    }

    async fn change_principals(
        &self,
        service: &ServiceId,
        add: &[String],
        remove: &[String],
    ) -> Result<(), PortError> {
        self.client
            .modify_vpc_endpoint_service_permissions()
            .service_id(service.as_str())
            .set_add_allowed_principals((!add.is_empty()).then(|| add.to_vec()))
            .set_remove_allowed_principals((!remove.is_empty()).then(|| remove.to_vec()))
            .send()
            .await
            .map_err(|e| port_error("ModifyVpcEndpointServicePermissions", e))?;
        Ok(())
    }
}

/// The account's VPC endpoints, for pricing.
#[derive(Debug, Clone)]
pub struct Ec2Endpoints {
    client: aws_sdk_ec2::Client,
}

impl Ec2Endpoints {
    pub fn new(client: aws_sdk_ec2::Client) -> Self {
        Self { client }
    }
}

impl crate::ports::EndpointInventory for Ec2Endpoints {
    async fn endpoints(&self) -> Result<Vec<crate::ports::EndpointRecord>, PortError> {
        let mut pages = self
            .client
            .describe_vpc_endpoints()
            .max_results(PAGE_SIZE)
            .into_paginator()
            .send();
        let mut out = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| port_error("DescribeVpcEndpoints", e))?;
            for e in page.vpc_endpoints() {
                let id = e.vpc_endpoint_id().unwrap_or_default();
                let Ok(id) = EndpointId::parse(id) else {
                    tracing::warn!(endpoint = id, "endpoint with an unreadable id not priced");
                    continue;
                };
                out.push(crate::ports::EndpointRecord {
                    endpoint: Endpoint {
                        id,
                        kind: EndpointKind::parse(
                            e.vpc_endpoint_type()
                                .map(|t| t.as_str())
                                .unwrap_or_default(),
                        ),
                        service_name: e.service_name().unwrap_or_default().to_owned(),
                        vpc_id: e.vpc_id().unwrap_or_default().to_owned(),
                        azs: u32::try_from(e.subnet_ids().len()).unwrap_or(u32::MAX),
                        created_at: e.creation_timestamp().map(|t| t.secs()),
                    },
                    // Raw string: the SDK's enum cannot parse the camelCase states.
                    state: e.state().map(|s| s.as_str().to_owned()).unwrap_or_default(),
                    policy: e.policy_document().map(str::to_owned),
                });
            }
        }
        Ok(out)
    }

    async fn policy_support(
        &self,
        service_names: &[String],
    ) -> Result<std::collections::BTreeMap<String, bool>, PortError> {
        let mut out = std::collections::BTreeMap::new();
        let mut next: Option<String> = None;
        loop {
            let page = self
                .client
                .describe_vpc_endpoint_services()
                .set_service_names(Some(service_names.to_vec()))
                .set_next_token(next.take())
                .send()
                .await
                .map_err(|e| port_error("DescribeVpcEndpointServices", e))?;
            for d in page.service_details() {
                if let (Some(name), Some(supported)) =
                    (d.service_name(), d.vpc_endpoint_policy_supported())
                {
                    out.insert(name.to_owned(), supported);
                }
            }
            match page.next_token() {
                Some(t) if !t.is_empty() => next = Some(t.to_owned()),
                _ => return Ok(out),
            }
        }
    }
}
