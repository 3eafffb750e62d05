//! Endpoint connections over the EC2 API.

use aws_sdk_ec2::types::Filter;

use super::sdk_error::port_error;
use crate::domain::decision::Connection;
use crate::domain::{AccountId, ConnectionState, EndpointId, ServiceId};
use crate::ports::{ConnectionList, Connections, PortError, Unsuccessful};

/// The largest page DescribeVpcEndpointConnections and DescribeVpcEndpointServiceConfigurations allow.
const PAGE_SIZE: i32 = 1000;

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

fn unsuccessful(items: &[aws_sdk_ec2::types::UnsuccessfulItem]) -> Vec<Unsuccessful> {
    items
        .iter()
        .map(|item| Unsuccessful {
            endpoint: item.resource_id().unwrap_or_default().to_owned(),
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
        service: &ServiceId,
        states: &[ConnectionState],
    ) -> Result<ConnectionList, PortError> {
        let state_filter = Filter::builder()
            .name("vpc-endpoint-state")
            .set_values(Some(
                states.iter().map(|s| s.as_wire_str().to_owned()).collect(),
            ))
            .build();
        let mut pages = self
            .client
            .describe_vpc_endpoint_connections()
            .filters(
                Filter::builder()
                    .name("service-id")
                    .values(service.as_str())
                    .build(),
            )
            .filters(state_filter)
            .max_results(PAGE_SIZE)
            .into_paginator()
            .send();
        let mut list = ConnectionList::default();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| port_error("DescribeVpcEndpointConnections", e))?;
            for raw in page.vpc_endpoint_connections() {
                match to_connection(raw) {
                    // The filter is a request; only what it asked for is decided.
                    Ok(conn) if &conn.service == service && states.contains(&conn.state) => {
                        list.connections.push(conn)
                    }
                    Ok(_) => {}
                    Err(malformed) => list.malformed.push(malformed),
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
        Ok(unsuccessful(out.unsuccessful()))
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
        Ok(unsuccessful(out.unsuccessful()))
    }
}
