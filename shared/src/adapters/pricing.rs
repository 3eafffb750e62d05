//! The AWS Price List Query API (`pricing:GetProducts`): the records of a region's VPC endpoint
//! and NAT Gateway products, as JSON text for `domain::price_list` to read and validate.

use aws_sdk_pricing::types::{Filter, FilterType};

use super::port_error;
use crate::ports::{PortError, PriceList};

/// The products a region's rates come from: service code and product family.
const PRODUCTS: [(&str, &str); 2] = [("AmazonVPC", "VpcEndpoint"), ("AmazonEC2", "NAT Gateway")];

/// The Price List Query API endpoint nearest to `region` (it is served from these three only,
/// and each answers for every region).
pub fn price_list_region(region: &str) -> &'static str {
    match region.split('-').next() {
        Some("eu" | "me" | "af" | "il") => "eu-central-1",
        Some("ap") => "ap-south-1",
        _ => "us-east-1",
    }
}

#[derive(Debug, Clone)]
pub struct PriceListApi {
    client: aws_sdk_pricing::Client,
}

impl PriceListApi {
    pub fn new(client: aws_sdk_pricing::Client) -> Self {
        Self { client }
    }
}

fn term_match(field: &str, value: &str) -> Filter {
    Filter::builder()
        .r#type(FilterType::TermMatch)
        .field(field)
        .value(value)
        .build()
        .expect("type, field and value are set")
}

impl PriceList for PriceListApi {
    async fn region_records(&self, region: &str) -> Result<Vec<String>, PortError> {
        let mut records = Vec::new();
        for (service, family) in PRODUCTS {
            let mut pages = self
                .client
                .get_products()
                .service_code(service)
                .format_version("aws_v1")
                .filters(term_match("productFamily", family))
                .filters(term_match("regionCode", region))
                .max_results(100)
                .into_paginator()
                .send();
            while let Some(page) = pages.next().await {
                let page = page.map_err(|e| port_error("GetProducts", e))?;
                records.extend(page.price_list().iter().cloned());
            }
        }
        Ok(records)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_region_asks_the_nearest_endpoint() {
        for (region, endpoint) in [
            ("us-east-1", "us-east-1"),
            ("sa-east-1", "us-east-1"),
            ("ca-central-1", "us-east-1"),
            ("eu-west-2", "eu-central-1"),
            ("me-south-1", "eu-central-1"),
            ("af-south-1", "eu-central-1"),
            ("il-central-1", "eu-central-1"),
            ("ap-southeast-2", "ap-south-1"),
        ] {
            assert_eq!(price_list_region(region), endpoint, "{region}");
        }
    }
}
