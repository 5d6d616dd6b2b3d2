//! TagResource, UntagResource and ListTagsForResource (`/tags/{resourceArn}`) for agent runtimes
//! and their endpoints.
//!
//! As in AWS: a malformed ARN is a `ValidationException` (`FieldValidationFailed`), a well-formed ARN
//! naming nothing taggable here is a `ResourceNotFoundException`, TagResource and UntagResource
//! answer 204 with no body, and a resource's tags go away with it.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Json, Router};
use serde_json::json;

use super::validate::{self, parse_object};
use crate::app_state::AppState;
use crate::context::{RequestContext, route_both};
use crate::error::AwsError;
use crate::state::RegionState;

type Result<T, E = AwsError> = std::result::Result<T, E>;

/// Adds the tagging routes to `router`.
pub fn routes(router: Router<Arc<AppState>>) -> Router<Arc<AppState>> {
    route_both(router, "/tags/{resourceArn}", get(list_tags_for_resource).post(tag_resource).delete(untag_resource))
}

/// The tags of the resource `arn` in `region`, or AWS's errors for a bad or unknown ARN.
fn tags_of<'a>(region: &'a mut RegionState, arn: &str) -> Result<&'a mut BTreeMap<String, String>> {
    validate::taggable_arn(arn)?;
    let not_found = || AwsError::not_found(format!("Resource {arn} not found"));
    let runtime = region
        .runtimes
        .values_mut()
        .find(|r| r.arn == arn || r.endpoints.values().any(|e| e.arn == arn))
        .ok_or_else(not_found)?;
    if runtime.arn == arn {
        return Ok(&mut runtime.tags);
    }
    runtime.endpoints.values_mut().find(|e| e.arn == arn).map(|e| &mut e.tags).ok_or_else(not_found)
}

async fn list_tags_for_resource(
    State(state): State<Arc<AppState>>,
    Extension(ctx): Extension<RequestContext>,
    Path(arn): Path<String>,
) -> Result<Response> {
    let (mut world, _) = state.world();
    let tags = tags_of(world.region(&ctx.caller.region), &arn)?;
    Ok(Json(json!({ "tags": tags })).into_response())
}

async fn tag_resource(
    State(state): State<Arc<AppState>>,
    Extension(ctx): Extension<RequestContext>,
    Path(arn): Path<String>,
    body: Bytes,
) -> Result<Response> {
    let body = parse_object(&body)?;
    let new = validate::tags(&body)?;
    let (mut world, _) = state.world();
    let tags = tags_of(world.region(&ctx.caller.region), &arn)?;
    let mut merged = tags.clone();
    merged.extend(new);
    if merged.len() > 50 {
        return Err(AwsError::new(
            StatusCode::PAYMENT_REQUIRED,
            "ServiceQuotaExceededException",
            format!("Resource {arn} would have {} tags; at most 50 are allowed", merged.len()),
        ));
    }
    *tags = merged;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn untag_resource(
    State(state): State<Arc<AppState>>,
    Extension(ctx): Extension<RequestContext>,
    Path(arn): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Response> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query.as_deref().unwrap_or(""))
        .map_err(|e| AwsError::validation("CannotParse", format!("Could not parse the query string: {e}")))?;
    let keys: Vec<String> = pairs.into_iter().filter(|(k, _)| k == "tagKeys").map(|(_, v)| v).collect();
    validate::tag_keys(&keys)?;
    let (mut world, _) = state.world();
    let tags = tags_of(world.region(&ctx.caller.region), &arn)?;
    for key in &keys {
        tags.remove(key);
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}
