//! Phase 5: [`crate::teardown::teardown`] deletes what the run created (runtimes first, then the
//! security groups — refused while the ENIs linger —, then subnets and the VPC), and this phase
//! holds what it saw against the model: the security group refused with `DependencyViolation` while
//! the ENIs linger, the ENIs gone within the linger window, nothing left with the run's tag.

use std::time::Duration;

use eni_model::LifecycleEvent;
use serde_json::json;

use super::args::Phase;
use super::lab::{Deployment, Lab};
use super::report::{Check, PhaseReport};
use super::settings::trim;
use crate::state::Kind;
use crate::teardown::{self, Options};

/// With `--aws` the settings' teardown wait is a short look (AWS keeps the ENIs up to 8 h).
fn options(lab: &Lab) -> Options {
    Options { wait: lab.settings.teardown_wait, poll: lab.settings.poll }
}

/// The judged teardown.
pub async fn teardown(lab: &mut Lab, deployment: &mut Deployment) -> anyhow::Result<PhaseReport> {
    if lab.aws.is_some() {
        return pending_destroy(lab, deployment).await;
    }
    let started = lab.now_s();
    record_deletions(lab, deployment);
    let lingering = lab.lifecycle(deployment)?.range_at(lab.service_now())?.lingering.len();
    let created = lab.state.resources.len();

    let options = options(lab);
    let report = teardown::teardown(&lab.sdk, &mut lab.state, &options).await?;
    let left_by_tag = teardown::discover_on(&lab.sdk, &lab.run, lab.state.connection.kind()).await?;

    // The ENIs go at most `linger` after the last runtime is gone (`status delay` after its
    // DeleteAgentRuntime); teardown notices at its next poll.
    // Observation slack: two polls, plus a tenth of the window (at least 2 s) for the time the
    // calls themselves take on a busy machine.
    let linger_window = lab.settings.linger_window();
    let window = linger_window + options.poll * 2 + (linger_window / 10).max(Duration::from_secs(2));
    let refusals: Vec<_> =
        report.refusals.iter().filter(|r| r.kind == Kind::SecurityGroup && r.code == "DependencyViolation").collect();
    let refusal_expected = if lingering > 0 {
        format!("refused with DependencyViolation while {lingering} ENI(s) linger")
    } else {
        "no ENI lingers: deleted at once".to_string()
    };
    let refusal_observed = match refusals.first() {
        Some(first) => format!(
            "refused {}× with {}, first after {} s: {}",
            refusals.len(),
            first.code,
            trim(first.after.as_secs_f64()),
            first.message
        ),
        None => "never refused".to_string(),
    };
    let gone_observed = match report.enis_gone_after {
        Some(after) => format!("gone after {} s", trim(after.as_secs_f64())),
        None => format!("still there after waiting {} s", trim(report.waited.as_secs_f64())),
    };
    let left = left_of(&report);
    let left_tagged: Vec<String> = left_by_tag.iter().map(|r| format!("{:?} {}", r.kind, r.id)).collect();
    let checks = vec![
        Check::new(
            "security group deletion",
            refusal_expected,
            refusal_observed,
            (lingering > 0) != refusals.is_empty(),
        ),
        Check::new(
            "agentic_ai ENIs after the runtimes are deleted",
            format!(
                "gone within {} s (status delay {} s + linger {} s of service time, + polling)",
                trim(window.as_secs_f64()),
                trim(lab.settings.status_delay.as_secs_f64()),
                trim(lab.settings.eni_linger.as_secs_f64())
            ),
            gone_observed,
            report.enis_gone_after.is_some_and(|after| after <= window),
        ),
        Check::new(
            "resources deleted",
            format!("all {created}"),
            if left.is_empty() {
                format!("{} deleted", report.deleted.len())
            } else {
                format!("left: {}", left.join(", "))
            },
            left.is_empty(),
        ),
        Check::new(
            "left with the run's tag",
            "nothing",
            if left_tagged.is_empty() { "nothing".to_string() } else { left_tagged.join(", ") },
            left_tagged.is_empty(),
        ),
    ];
    let facts = json!({
        "deleted": report.deleted,
        "left": left,
        "leftByTag": left_tagged,
        "refusals": refusals_json(&report),
        "runtimesDeletedAtS": report.runtimes_deleted_at.map(|d| d.as_secs_f64()),
        "enisGoneAfterS": report.enis_gone_after.map(|d| d.as_secs_f64()),
        "waitedS": report.waited.as_secs_f64(),
        "predictedLingering": lingering,
        "windowS": window.as_secs_f64(),
    });
    if !left.is_empty() || !left_tagged.is_empty() {
        eprintln!("resources are left; finish with: cargo xtask destroy --run-id {} --resume", lab.run);
    }
    Ok(PhaseReport::judged(Phase::Teardown, checks, None, (started, lab.now_s()), facts))
}

/// Every runtime's deletion, now, for the model.
fn record_deletions(lab: &Lab, deployment: &mut Deployment) {
    let names: Vec<String> = deployment.runtimes.iter().map(|r| r.name.clone()).collect();
    for runtime in names {
        lab.record(deployment, LifecycleEvent::Delete { runtime });
    }
}

/// Teardown without judging (the teardown phase was not selected): a note on what happened.
pub async fn clean_up(lab: &mut Lab) -> anyhow::Result<String> {
    let options = options(lab);
    let report = teardown::teardown(&lab.sdk, &mut lab.state, &options).await?;
    if report.left.is_empty() && report.unsearched.is_empty() {
        Ok(format!("clean-up: {} resources deleted", report.deleted.len()))
    } else {
        let left = left_of(&report);
        let aws = if lab.aws.is_some() { " --aws" } else { "" };
        eprintln!("left: {}; finish with: cargo xtask destroy{aws} --run-id {} --resume", left.join(", "), lab.run);
        Ok(format!("clean-up left: {}", left.join(", ")))
    }
}

/// The teardown phase in a real account (`--aws`): AWS may keep the ENIs up to 8 hours, so this does
/// not wait for them. It deletes the runtimes, tries the security groups (recording the
/// `DependencyViolation` while ENIs linger), deletes what does not depend on them, reports the
/// lingering ENIs and stops with `cargo xtask destroy --aws --resume` to finish. What is left is
/// "pending destroy", not a mismatch; runtimes that could not be deleted are one.
async fn pending_destroy(lab: &mut Lab, deployment: &mut Deployment) -> anyhow::Result<PhaseReport> {
    let started = lab.now_s();
    record_deletions(lab, deployment);
    let options = options(lab);
    let report = teardown::teardown(&lab.sdk, &mut lab.state, &options).await?;
    let runtimes_left: Vec<String> = report
        .left
        .iter()
        .filter(|(r, _)| r.kind == Kind::AgentRuntime)
        .map(|(r, why)| format!("{} ({why})", r.id))
        .collect();
    let left = left_of(&report);
    let refusals: Vec<_> =
        report.refusals.iter().filter(|r| r.kind == Kind::SecurityGroup && r.code == "DependencyViolation").collect();
    let advice = format!("cargo xtask destroy --aws --resume --run-id {}", lab.run);
    let pending = if left.is_empty() {
        "nothing: every resource deleted".to_string()
    } else {
        format!("pending destroy: {} (finish with `{advice}`)", left.join(", "))
    };
    let checks = vec![
        Check::new(
            "agent runtimes deleted",
            format!("all {}", deployment.runtimes.len()),
            if runtimes_left.is_empty() { "all deleted".to_string() } else { runtimes_left.join(", ") },
            runtimes_left.is_empty(),
        ),
        // Information rows: with --aws each outcome (refused or deleted, gone or lingering, left or
        // not) is expected, so none of them can be a mismatch.
        Check::info(
            "security group deletion while ENIs linger",
            "refused with DependencyViolation (recorded), or deleted if the ENIs are already gone",
            match refusals.first() {
                Some(first) => format!("refused {}× with {}: {}", refusals.len(), first.code, first.message),
                None => "never refused".to_string(),
            },
        ),
        Check::info(
            "agentic_ai ENIs after the runtimes are deleted",
            "AWS keeps them up to 8 h: not waited for with --aws",
            match report.enis_gone_after {
                Some(after) => format!("gone after {} s", trim(after.as_secs_f64())),
                None => format!("still there after {} s: pending destroy", trim(report.waited.as_secs_f64())),
            },
        ),
        Check::info("what is left", "pending destroy (--aws)", pending),
    ];
    let facts = json!({
        "pendingDestroy": !left.is_empty(),
        "advice": advice,
        "deleted": report.deleted,
        "left": left,
        "refusals": refusals_json(&report),
        "runtimesDeletedAtS": report.runtimes_deleted_at.map(|d| d.as_secs_f64()),
        "enisGoneAfterS": report.enis_gone_after.map(|d| d.as_secs_f64()),
        "waitedS": report.waited.as_secs_f64(),
    });
    if !left.is_empty() {
        eprintln!("teardown: pending destroy ({}); finish with: {advice}", left.join(", "));
        lab.notes.push(format!(
            "teardown (--aws): pending destroy, not a mismatch: AWS keeps agentic_ai ENIs up to 8 h; finish with `{advice}`"
        ));
    }
    Ok(PhaseReport::judged(Phase::Teardown, checks, None, (started, lab.now_s()), facts))
}

/// What teardown left, and why: resources, and listings by tag that failed (resources only they
/// would have found may be left).
fn left_of(report: &teardown::Report) -> Vec<String> {
    let resources = report.left.iter().map(|(r, why)| format!("{:?} {} ({why})", r.kind, r.id));
    let gaps = report.unsearched.iter().map(|gap| format!("not searched: {gap}"));
    resources.chain(gaps).collect()
}

/// The refusals teardown met (the security group's `DependencyViolation` while ENIs lingered), for
/// the report's facts.
fn refusals_json(report: &teardown::Report) -> Vec<serde_json::Value> {
    let refusal = |r: &teardown::Refusal| json!({"kind": r.kind, "id": r.id, "code": r.code, "message": r.message, "afterS": r.after.as_secs_f64()});
    report.refusals.iter().map(refusal).collect()
}
