//! `plgov`, the operator command line of PrivateLink Governor.

mod args;
mod commands;
mod error;
mod expiry;
mod output;
mod target;

use std::process::ExitCode;

use clap::Parser;
use plgov_shared::adapters::epoch_now;
use plgov_shared::domain::allowlist::Effect;

use args::{Cli, Command, CostCommand, PolicyCommand, RuleAction, RulesCommand};
use commands::Context;
use error::CliError;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let verbose = cli.verbose
        || std::env::var("RUST_LOG").is_ok_and(|l| l.contains("debug") || l.contains("trace"));
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("plgov: {err}");
            match err.detail() {
                Some(detail) if verbose => eprintln!("detail: {detail}"),
                Some(_) => eprintln!("(-v shows the whole error)"),
                None => {}
            }
            ExitCode::from(u8::try_from(err.exit_code()).unwrap_or(1))
        }
    }
}

/// The AWS configuration and the target, loaded only by the commands that talk to AWS.
async fn context(cli: &Cli) -> Result<Context, CliError> {
    let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let target = target::resolve(&cli.target, &sdk).await?;
    Ok(Context {
        sdk,
        target,
        json: cli.json,
        now: epoch_now(),
    })
}

async fn run(cli: Cli) -> Result<(), CliError> {
    let ctx = || context(&cli);
    match &cli.command {
        Command::Allow {
            action: RuleAction::Add(args),
        } => commands::rules::add(&ctx().await?, Effect::Allow, args).await,
        Command::Deny {
            action: RuleAction::Add(args),
        } => commands::rules::add(&ctx().await?, Effect::Deny, args).await,
        Command::Rules {
            action: RulesCommand::List { service },
        } => commands::rules::list(&ctx().await?, service.as_deref()).await,
        Command::Rules {
            action:
                RulesCommand::Remove {
                    service,
                    account,
                    exact,
                },
        } => commands::rules::remove(&ctx().await?, service, account, *exact).await,
        Command::Policy {
            action:
                PolicyCommand::Set {
                    service,
                    unmatched,
                    revoke,
                    dry_run,
                    not_yet_created,
                },
        } => {
            commands::policy::set(
                &ctx().await?,
                service,
                *unmatched,
                *revoke,
                *dry_run,
                *not_yet_created,
            )
            .await
        }
        Command::Policy {
            action: PolicyCommand::Show { service },
        } => commands::policy::show(&ctx().await?, service.as_deref()).await,
        Command::Policy {
            action: PolicyCommand::Remove { service },
        } => commands::policy::remove(&ctx().await?, service).await,
        Command::Explain { service, account } => {
            commands::decide::explain(&ctx().await?, service, account).await
        }
        Command::Connections { service, state } => {
            commands::decide::connections(&ctx().await?, service.as_deref(), state.as_deref()).await
        }
        Command::Reconcile { service, dry_run } => {
            commands::reconcile::run(&ctx().await?, service, *dry_run).await
        }
        Command::Findings { kind } => {
            commands::findings::list(&ctx().await?, kind.as_deref()).await
        }
        Command::Audit { service, since } => {
            commands::audit::list(&ctx().await?, service.as_deref(), since.as_deref()).await
        }
        // The Price List needs AWS credentials, no stack.
        Command::Cost {
            action:
                CostCommand::Estimate {
                    region,
                    azs,
                    gb_per_month,
                    pricing_overrides,
                },
        } => {
            commands::cost::estimate(
                cli.json,
                region,
                *azs,
                *gb_per_month,
                pricing_overrides.as_deref(),
            )
            .await
        }
        Command::Cost {
            action:
                CostCommand::Rates {
                    region,
                    pricing_overrides,
                },
        } => commands::cost::rates(cli.json, region, pricing_overrides.as_deref()).await,
    }
}
