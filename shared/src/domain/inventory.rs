//! Which endpoints existed during an hour, from what the inventory shows now and what earlier
//! runs saw.
//!
//! AWS lists a deleted endpoint for a while (state `deleted`) and then not at all, and it says
//! nothing about when it was deleted. An endpoint is priced for hour H when there is evidence it
//! existed during H: it was created before H ended, and either it was provisioned when a run saw
//! it at or after H began (now, or in a run's record), or it was created during H (so it existed
//! in H even if it was deleted before any run saw it). One deleted before H began, with no such
//! evidence, is not priced.

use serde::Serialize;

use super::cost::EndpointKind;
use super::hour::Hour;
use super::ids::EndpointId;

/// A VPC endpoint as the pricing needs it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Endpoint {
    pub id: EndpointId,
    pub kind: EndpointKind,
    pub service_name: String,
    pub vpc_id: String,
    /// Subnets (AZs) it sits in.
    pub azs: u32,
    /// Epoch seconds, when known.
    pub created_at: Option<i64>,
}

/// An endpoint as one look at the inventory saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sighting {
    pub endpoint: Endpoint,
    /// Provisioned (billed) when seen: not `deleted`, `failed` or `expired`.
    pub provisioned: bool,
    /// Epoch seconds of the look.
    pub seen_at: i64,
}

/// Whether a state (as EC2 sends it, any case) is a provisioned, billed endpoint. A rejected or
/// pending endpoint is billed to its owner too.
pub fn is_provisioned(state: &str) -> bool {
    !matches!(
        state.to_ascii_lowercase().as_str(),
        "deleted" | "failed" | "expired"
    )
}

impl Sighting {
    /// Whether this sighting shows the endpoint existed during `hour`.
    pub fn existed_during(&self, hour: Hour) -> bool {
        let created = self.endpoint.created_at;
        if created.is_some_and(|at| at >= hour.end()) {
            return false;
        }
        let created_during = created.is_some_and(|at| at >= hour.start());
        let provisioned_since_start = self.provisioned && self.seen_at >= hour.start();
        created_during || provisioned_since_start
    }
}

/// What the cost table keeps between runs about the inventory: the endpoints provisioned at the
/// last look, and the last provisioned sighting of endpoints gone since (AWS stops listing them).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InventoryRecord {
    /// Epoch seconds of the last look that confirmed `provisioned`.
    pub confirmed_at: i64,
    pub provisioned: Vec<Endpoint>,
    /// Gone or deleted since: each with the last time it was seen provisioned.
    pub departed: Vec<Sighting>,
}

/// How long a departed endpoint is remembered: longer than any hour is priced again.
pub const DEPARTED_KEPT_SECS: i64 = 3 * 86_400;

impl InventoryRecord {
    /// The record after a look at epoch second `now` that found `current` (every endpoint, with
    /// whether it is provisioned): what was provisioned before and is not now has departed.
    pub fn after_look(&self, current: &[(Endpoint, bool)], now: i64) -> InventoryRecord {
        let provisioned_now: Vec<Endpoint> = current
            .iter()
            .filter(|(_, p)| *p)
            .map(|(e, _)| e.clone())
            .collect();
        let still: std::collections::BTreeSet<&EndpointId> =
            provisioned_now.iter().map(|e| &e.id).collect();
        let mut departed: Vec<Sighting> = self
            .departed
            .iter()
            .filter(|d| d.seen_at >= now - DEPARTED_KEPT_SECS && !still.contains(&d.endpoint.id))
            .cloned()
            .collect();
        for gone in self.provisioned.iter().filter(|e| !still.contains(&e.id)) {
            departed.retain(|d| d.endpoint.id != gone.id);
            departed.push(Sighting {
                endpoint: gone.clone(),
                provisioned: true,
                seen_at: self.confirmed_at,
            });
        }
        departed.sort_by(|a, b| a.endpoint.id.cmp(&b.endpoint.id));
        InventoryRecord {
            confirmed_at: now,
            provisioned: provisioned_now,
            departed,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: i64 = 1_795_766_400; // 2026-11-27T08:00:00Z

    fn sighting(created_at: Option<i64>, provisioned: bool, seen_at: i64) -> Sighting {
        Sighting {
            endpoint: Endpoint {
                id: EndpointId::parse("vpce-0a").unwrap(),
                kind: EndpointKind::Interface,
                service_name: "s".into(),
                vpc_id: "vpc-1".into(),
                azs: 1,
                created_at,
            },
            provisioned,
            seen_at,
        }
    }

    #[test]
    fn evidence_of_existence_during_an_hour() {
        let hour = Hour::containing(H);
        let after = H + 3600 + 600; // the run ten minutes after the hour
        // Provisioned now, created before the hour ended: priced.
        assert!(sighting(Some(H - 86_400), true, after).existed_during(hour));
        // Created after the hour ended: not priced.
        assert!(!sighting(Some(H + 3600), true, after).existed_during(hour));
        // Created and deleted inside the hour: priced, though no run saw it provisioned.
        assert!(sighting(Some(H + 60), false, after).existed_during(hour));
        // Deleted, created long before, last seen provisioned before the hour began: not priced.
        assert!(!sighting(Some(H - 86_400), true, H - 3000).existed_during(hour));
        assert!(!sighting(Some(H - 86_400), false, after).existed_during(hour));
        // Seen provisioned by a run after the hour began, gone since: priced.
        assert!(sighting(Some(H - 86_400), true, H + 600).existed_during(hour));
        // No creation time: only a provisioned sighting since the hour began counts.
        assert!(sighting(None, true, after).existed_during(hour));
        assert!(!sighting(None, false, after).existed_during(hour));
    }

    #[test]
    fn an_endpoint_gone_between_two_looks_is_remembered_with_its_last_provisioned_sighting() {
        let e = |id: &str| Endpoint {
            id: EndpointId::parse(id).unwrap(),
            kind: EndpointKind::Interface,
            service_name: "s".into(),
            vpc_id: "vpc-1".into(),
            azs: 1,
            created_at: Some(H - 86_400),
        };
        let first = InventoryRecord::default()
            .after_look(&[(e("vpce-0a"), true), (e("vpce-0b"), true)], H + 600);
        assert!(first.departed.is_empty());
        // vpce-0b is deleted (AWS still lists it as deleted) and vpce-0a is gone from the list.
        let second = first.after_look(&[(e("vpce-0b"), false)], H + 4200);
        assert_eq!(second.confirmed_at, H + 4200);
        assert!(second.provisioned.is_empty());
        let seen: Vec<(&str, i64)> = second
            .departed
            .iter()
            .map(|d| (d.endpoint.id.as_str(), d.seen_at))
            .collect();
        assert_eq!(seen, [("vpce-0a", H + 600), ("vpce-0b", H + 600)]);
        // Last seen provisioned ten minutes into hour H: priced for H, not for the hour after.
        assert!(second.departed[0].existed_during(Hour::containing(H)));
        assert!(!second.departed[0].existed_during(Hour::containing(H).plus(1)));
        // Forgotten once no hour it may have been in is priced again.
        let later = second.after_look(&[], H + 600 + DEPARTED_KEPT_SECS + 1);
        assert!(later.departed.is_empty());
    }

    #[test]
    fn billed_states() {
        for state in [
            "available",
            "pendingAcceptance",
            "pending",
            "rejected",
            "deleting",
        ] {
            assert!(is_provisioned(state), "{state}");
        }
        for state in ["deleted", "Deleted", "failed", "expired"] {
            assert!(!is_provisioned(state), "{state}");
        }
    }
}
