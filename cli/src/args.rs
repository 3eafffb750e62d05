//! The command line's shape: every command, flag and example.

use clap::{Args, Parser, Subcommand, ValueEnum};

const EXAMPLES: &str = "\
Examples:
  plgov --stack plgov allow add --service vpce-svc-0123456789abcdef0 --account 111122223333 --note 'partner team'
  plgov --stack plgov allow add --service '*' --account arn:aws:iam::111122223333:root --expires 30d
  plgov --stack plgov deny add --service '*' --account 444455556666
  plgov --stack plgov allow add --service '*' --account ou-ab12-cdefgh34   (every account below the OU)
  plgov --stack plgov rules list --service vpce-svc-0123456789abcdef0
  plgov --stack plgov policy set --service vpce-svc-0123456789abcdef0 --unmatched leave --revoke on
  plgov --stack plgov explain --service vpce-svc-0123456789abcdef0 --account 777788889999
  plgov --stack plgov connections --state pendingAcceptance
  plgov --stack plgov reconcile --service vpce-svc-0123456789abcdef0 --dry-run
  plgov --stack plgov audit --since 7d --json
  plgov cost estimate --region us-east-1 --azs 2 --gb-per-month 1000

Target: --stack reads the table names, the namespace and the approver's settings (GovernedServices,
UnmatchedAction, DryRun, AuditRetentionDays) from the stack's outputs and parameters; or give
--allowlist-table / --audit-table (or PLGOV_* variables), and for reconcile every approver setting
(--governed-services, --unmatched-action, --deployment-dry-run, --audit-retention-days, --namespace).
AWS access follows the standard chain (profile, environment, AWS_ENDPOINT_URL for a local emulator).

Exit codes: 0 done; 1 an AWS call failed; 2 invalid input (nothing was written);
3 refused: the rule exists (use --replace) or needs an explicit flag.";

#[derive(Debug, Parser)]
#[command(name = "plgov", version, about = "Operate PrivateLink Governor: who may connect, what would happen, what it costs.", after_help = EXAMPLES)]
pub struct Cli {
    #[command(flatten)]
    pub target: TargetArgs,
    /// Print JSON instead of a table.
    #[arg(long, global = true)]
    pub json: bool,
    /// On an AWS error, print its whole cause chain too (also with RUST_LOG=debug).
    #[arg(short, long, global = true)]
    pub verbose: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args)]
pub struct TargetArgs {
    /// CloudFormation stack of PrivateLink Governor: tables, namespace and defaults come from it.
    #[arg(long, global = true, env = "PLGOV_STACK")]
    pub stack: Option<String>,
    /// The allowlist table (instead of --stack).
    #[arg(long, global = true, env = "PLGOV_ALLOWLIST_TABLE")]
    pub allowlist_table: Option<String>,
    /// The audit table (instead of --stack).
    #[arg(long, global = true, env = "PLGOV_AUDIT_TABLE")]
    pub audit_table: Option<String>,
    /// The metrics namespace (instead of --stack).
    #[arg(long, global = true, env = "PLGOV_METRICS_NAMESPACE")]
    pub namespace: Option<String>,
    /// The approver's GovernedServices, `all` or a comma-separated list of ids (instead of --stack).
    #[arg(long, global = true, env = "PLGOV_GOVERNED_SERVICES")]
    pub governed_services: Option<String>,
    /// The approver's UnmatchedAction, `reject` or `leave` (instead of --stack).
    #[arg(long, global = true, env = "PLGOV_UNMATCHED_ACTION")]
    pub unmatched_action: Option<String>,
    /// The approver's DryRun, `true` or `false` (instead of --stack).
    #[arg(long, global = true, env = "PLGOV_DEPLOYMENT_DRY_RUN")]
    pub deployment_dry_run: Option<String>,
    /// The approver's AuditRetentionDays (instead of --stack).
    #[arg(long, global = true, env = "PLGOV_AUDIT_RETENTION_DAYS")]
    pub audit_retention_days: Option<String>,
    /// The IAM role that reads AWS Organizations for organization and OU rules (default: the
    /// stack's, else your own credentials).
    #[arg(long, global = true, env = "PLGOV_ORGANIZATIONS_ROLE_ARN")]
    pub organizations_role: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Allow an account to connect to a service.
    Allow {
        #[command(subcommand)]
        action: RuleAction,
    },
    /// Deny an account: a matching deny always wins.
    Deny {
        #[command(subcommand)]
        action: RuleAction,
    },
    /// List or remove allowlist rules.
    Rules {
        #[command(subcommand)]
        action: RulesCommand,
    },
    /// Set or show a service's policy.
    Policy {
        #[command(subcommand)]
        action: PolicyCommand,
    },
    /// The decision the approver would take for a pending request from ACCOUNT to SERVICE, and why.
    Explain {
        #[arg(long)]
        service: String,
        #[arg(long)]
        account: String,
    },
    /// Connections of the governed services, each with the decision the approver would take now.
    Connections {
        /// Only this service (default: every governed service).
        #[arg(long)]
        service: Option<String>,
        /// Only connections in this state (e.g. pendingAcceptance, available, rejected).
        #[arg(long)]
        state: Option<String>,
    },
    /// Run the approver's reconcile now, as the function would.
    Reconcile {
        /// Only these services (repeatable; default: every governed service).
        #[arg(long)]
        service: Vec<String>,
        /// Decide, audit and count, but change no connection.
        #[arg(long)]
        dry_run: bool,
    },
    /// Recent decisions from the audit table.
    Audit {
        #[arg(long)]
        service: Option<String>,
        /// Only decisions newer than this: a duration (30m, 12h, 7d) or a date (2026-11-01).
        #[arg(long)]
        since: Option<String>,
    },
    /// The active findings in Security Hub: services the approver cannot govern or that are
    /// open too wide, endpoints that waste money or sit in one AZ.
    Findings {
        /// Only this type (e.g. AcceptanceNotRequired, IdleEndpoint).
        #[arg(long = "type")]
        kind: Option<String>,
    },
    /// Cost arithmetic with the rates the cost reporter uses (AWS Price List, else built-in).
    Cost {
        #[command(subcommand)]
        action: CostCommand,
    },
}

#[derive(Debug, Subcommand)]
pub enum RuleAction {
    /// Add a rule.
    Add(RuleArgs),
}

#[derive(Debug, Args)]
pub struct RuleArgs {
    /// Endpoint service id (vpce-svc-...) or '*' for every governed service.
    #[arg(long)]
    pub service: String,
    /// Consumer accounts: 12 digits, an IAM principal ARN (arn:aws:iam::123456789012:root), an
    /// organization (o-...), an OU (ou-..., every account below it), or '*'.
    #[arg(long)]
    pub account: String,
    /// When the rule stops counting: a duration (90m, 12h, 30d) or a UTC date/time (2026-12-31, 2026-12-31T18:00:00Z).
    #[arg(long)]
    pub expires: Option<String>,
    /// Free text kept with the rule.
    #[arg(long)]
    pub note: Option<String>,
    /// Overwrite an existing rule with the same service and account.
    #[arg(long)]
    pub replace: bool,
    /// Needed to allow every account on every service.
    #[arg(long)]
    pub all_accounts_all_services: bool,
    /// The service is not an endpoint service of this account and region (yet): one still to be
    /// created, or another account's (rules written into a hub's allowlist).
    #[arg(long)]
    pub not_yet_created: bool,
}

#[derive(Debug, Subcommand)]
pub enum RulesCommand {
    /// List rules (of one service and the '*' rules, or all).
    List {
        #[arg(long)]
        service: Option<String>,
    },
    /// Remove the rule for SERVICE and ACCOUNT.
    Remove {
        #[arg(long)]
        service: String,
        #[arg(long)]
        account: String,
        /// Take --service and --account as the stored keys, unchecked: to remove a malformed item
        /// that `rules list` shows (e.g. an upper-case service id).
        #[arg(long)]
        exact: bool,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum OnOff {
    On,
    Off,
}

impl OnOff {
    pub fn is_on(self) -> bool {
        matches!(self, OnOff::On)
    }
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Unmatched {
    Reject,
    Leave,
}

#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// Change a service's policy (unspecified settings keep their value).
    Set {
        #[arg(long)]
        service: String,
        /// What to do with a pending connection no rule matches.
        #[arg(long, value_enum)]
        unmatched: Option<Unmatched>,
        /// Reject established connections whose owner is no longer allowed.
        #[arg(long, value_enum)]
        revoke: Option<OnOff>,
        /// Decide and audit only, change nothing.
        #[arg(long, value_enum)]
        dry_run: Option<OnOff>,
        /// The service is not an endpoint service of this account and region (yet).
        #[arg(long)]
        not_yet_created: bool,
    },
    /// Show the policies (of one service, or all), malformed ones as such.
    Show {
        #[arg(long)]
        service: Option<String>,
    },
    /// Remove a service's policy item (the deployment's defaults apply again).
    Remove {
        #[arg(long)]
        service: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum CostCommand {
    /// A month of one interface endpoint against the same traffic through a NAT Gateway.
    Estimate {
        #[arg(long)]
        region: String,
        #[arg(long)]
        azs: u32,
        #[arg(long)]
        gb_per_month: f64,
        /// JSON of rates that win over the Price List and the built-in table, as the stack's
        /// PricingOverrides parameter.
        #[arg(long, env = "PRICING_OVERRIDES")]
        pricing_overrides: Option<String>,
    },
    /// The rates of a region: from the AWS Price List when it can be read, else the built-in
    /// table (saying which), with the overrides applied.
    Rates {
        #[arg(long)]
        region: String,
        /// JSON of rates that win over the Price List and the built-in table.
        #[arg(long, env = "PRICING_OVERRIDES")]
        pricing_overrides: Option<String>,
    },
}
