//! EC2 query-protocol input: flattened form parameters (`Filter.1.Value.2=…`), filters with
//! wildcards, `MaxResults`/`NextToken` pagination and `TagSpecification`s.

use std::collections::BTreeMap;

use crate::error::AwsError;

/// The form parameters of one request.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Params(BTreeMap<String, String>);

impl Params {
    /// Parses an `application/x-www-form-urlencoded` body (or query string).
    pub fn parse(form: &[u8]) -> Result<Self, AwsError> {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(form)
            .map_err(|e| AwsError::ec2("InvalidParameterValue", format!("malformed form body: {e}")))?;
        Ok(Self(pairs.into_iter().collect()))
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(String::as_str)
    }

    /// `key`, or `MissingParameter` naming it the way EC2 does (lower camel case).
    pub fn required(&self, key: &str) -> Result<&str, AwsError> {
        self.get(key).filter(|v| !v.is_empty()).ok_or_else(|| {
            let mut wire = key.to_string();
            if let Some(first) = wire.get_mut(..1) {
                first.make_ascii_lowercase();
            }
            AwsError::ec2("MissingParameter", format!("The request must contain the parameter {wire}"))
        })
    }

    /// The members `key.N.…` as sub-parameter sets, ordered by N.
    pub fn members(&self, key: &str) -> Vec<Params> {
        let prefix = format!("{key}.");
        let mut by_index: BTreeMap<u32, Params> = BTreeMap::new();
        for (k, v) in &self.0 {
            let Some(rest) = k.strip_prefix(&prefix) else {
                continue;
            };
            let (index, tail) = rest.split_once('.').unwrap_or((rest, ""));
            let Ok(index) = index.parse::<u32>() else {
                continue;
            };
            by_index.entry(index).or_default().0.insert(tail.to_string(), v.clone());
        }
        by_index.into_values().collect()
    }

    /// The values `key.1`, `key.2`, … ordered by index.
    pub fn list(&self, key: &str) -> Vec<String> {
        self.members(key).into_iter().filter_map(|p| p.0.get("").cloned()).collect()
    }

    pub fn bool(&self, key: &str) -> Result<Option<bool>, AwsError> {
        self.get(key)
            .map(|v| match v.to_ascii_lowercase().as_str() {
                "true" => Ok(true),
                "false" => Ok(false),
                _ => Err(invalid_value(key, v)),
            })
            .transpose()
    }

    pub fn int(&self, key: &str) -> Result<Option<i64>, AwsError> {
        self.get(key).map(|v| v.trim().parse().map_err(|_| invalid_value(key, v))).transpose()
    }
}

fn invalid_value(key: &str, value: &str) -> AwsError {
    AwsError::ec2("InvalidParameterValue", format!("Value ({value}) for parameter {key} is invalid."))
}

/// One `Filter.N`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Filter {
    pub name: String,
    pub values: Vec<String>,
}

/// Reads `Filter.N.Name` / `Filter.N.Value.M`, refusing names not in `allowed` (plus `tag:KEY`,
/// `tag-key`, `tag-value`, which every taggable resource accepts).
pub fn filters(params: &Params, allowed: &[&str]) -> Result<Vec<Filter>, AwsError> {
    params
        .members("Filter")
        .into_iter()
        .map(|f| {
            let name = f.required("Name")?.to_string();
            let known = allowed.contains(&name.as_str())
                || name.starts_with("tag:")
                || name == "tag-key"
                || name == "tag-value";
            if !known {
                return Err(AwsError::ec2("InvalidParameterValue", format!("The filter '{name}' is invalid")));
            }
            Ok(Filter { name, values: f.list("Value") })
        })
        .collect()
}

/// Whether a resource passes every filter. `field(name)` gives the resource's values for a
/// filter name (tags are handled here). Values within a filter are OR-ed, filters AND-ed; values
/// may use `*` and `?` wildcards.
pub fn matches(filters: &[Filter], tags: &BTreeMap<String, String>, field: impl Fn(&str) -> Vec<String>) -> bool {
    filters.iter().all(|f| {
        let have: Vec<String> = if let Some(key) = f.name.strip_prefix("tag:") {
            tags.get(key).cloned().into_iter().collect()
        } else if f.name == "tag-key" {
            tags.keys().cloned().collect()
        } else if f.name == "tag-value" {
            tags.values().cloned().collect()
        } else {
            field(&f.name)
        };
        f.values.iter().any(|pattern| have.iter().any(|v| glob(pattern, v)))
    })
}

/// EC2 filter wildcards: `*` any run, `?` one character, `\` escapes.
pub fn glob(pattern: &str, value: &str) -> bool {
    fn go(p: &[char], v: &[char]) -> bool {
        match p.split_first() {
            None => v.is_empty(),
            Some(('*', rest)) => (0..=v.len()).any(|i| go(rest, &v[i..])),
            Some(('?', rest)) => !v.is_empty() && go(rest, &v[1..]),
            Some(('\\', rest)) if !rest.is_empty() => !v.is_empty() && v[0] == rest[0] && go(&rest[1..], &v[1..]),
            Some((c, rest)) => !v.is_empty() && v[0] == *c && go(rest, &v[1..]),
        }
    }
    let p: Vec<char> = pattern.chars().collect();
    let v: Vec<char> = value.chars().collect();
    go(&p, &v)
}

/// `MaxResults` / `NextToken` paging over `items` (already in their stable order).
/// `max_results` is checked against EC2's 5..=1000 range.
pub fn paginate<T>(items: Vec<T>, params: &Params) -> Result<(Vec<T>, Option<String>), AwsError> {
    let max = params.int("MaxResults")?;
    if let Some(m) = max
        && !(5..=1000).contains(&m)
    {
        return Err(AwsError::ec2(
            "InvalidParameterValue",
            format!("Value ( {m} ) for parameter maxResults is invalid. Parameter must be between 5 and 1000."),
        ));
    }
    let start = match params.get("NextToken") {
        None | Some("") => 0,
        Some(token) => decode_token(token)
            .ok_or_else(|| AwsError::ec2("InvalidPaginationToken", format!("Invalid pagination token: {token}")))?,
    };
    let total = items.len();
    let take = max.map_or(usize::MAX, |m| m as usize);
    let page: Vec<T> = items.into_iter().skip(start).take(take).collect();
    let end = start.saturating_add(page.len());
    let next = (max.is_some() && end < total).then(|| encode_token(end));
    Ok((page, next))
}

const TOKEN_PREFIX: &str = "eyJhY2wi";

fn encode_token(offset: usize) -> String {
    format!("{TOKEN_PREFIX}{offset:016x}")
}

fn decode_token(token: &str) -> Option<usize> {
    let hex = token.strip_prefix(TOKEN_PREFIX)?;
    (hex.len() == 16).then_some(())?;
    usize::from_str_radix(hex, 16).ok()
}

/// The tags of `TagSpecification.N` entries for `resource_type`, checked as EC2 checks them.
pub fn tag_specifications(params: &Params, resource_type: &str) -> Result<BTreeMap<String, String>, AwsError> {
    let mut tags = BTreeMap::new();
    for spec in params.members("TagSpecification") {
        let ty = spec.get("ResourceType").unwrap_or_default();
        if ty != resource_type {
            return Err(AwsError::ec2(
                "InvalidParameterValue",
                format!("'{ty}' is not a valid taggable resource type for this operation."),
            ));
        }
        for tag in spec.members("Tag") {
            let (key, value) = checked_tag(&tag)?;
            tags.insert(key, value);
        }
    }
    check_tag_count(tags.len())?;
    Ok(tags)
}

/// One `Tag.N` (`Key`, `Value`), checked.
pub fn checked_tag(tag: &Params) -> Result<(String, String), AwsError> {
    let key = tag.get("Key").unwrap_or_default();
    let value = tag.get("Value").unwrap_or_default();
    if key.is_empty() || key.chars().count() > 128 {
        return Err(AwsError::ec2(
            "InvalidParameterValue",
            format!("Tag key must be 1 to 128 characters long, got '{key}'"),
        ));
    }
    if key.to_ascii_lowercase().starts_with("aws:") {
        return Err(AwsError::ec2(
            "InvalidParameterValue",
            "Tag keys starting with 'aws:' are reserved for internal use",
        ));
    }
    if value.chars().count() > 256 {
        return Err(AwsError::ec2("InvalidParameterValue", "Tag value exceeds the maximum length of 256 characters"));
    }
    Ok((key.to_string(), value.to_string()))
}

/// At most 50 tags per resource.
pub fn check_tag_count(n: usize) -> Result<(), AwsError> {
    if n > 50 {
        return Err(AwsError::ec2("TagLimitExceeded", "The maximum number of Tags for a resource has been reached."));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_flattened_lists_in_index_order() {
        let p = Params::parse(
            b"Action=DescribeNetworkInterfaces&Filter.2.Name=interface-type&Filter.2.Value.1=agentic_ai\
              &Filter.2.Value.2=lambda&Filter.1.Name=group-id&Filter.1.Value.1=sg-1\
              &NetworkInterfaceId.10=eni-b&NetworkInterfaceId.2=eni-a",
        )
        .unwrap();
        assert_eq!(p.list("NetworkInterfaceId"), ["eni-a", "eni-b"]);
        let f = filters(&p, &["group-id", "interface-type"]).unwrap();
        assert_eq!(f[0].name, "group-id");
        assert_eq!(f[1].values, ["agentic_ai", "lambda"]);
        let err = filters(&p, &["group-id"]).unwrap_err();
        assert_eq!(err.message, "The filter 'interface-type' is invalid");
    }

    #[test]
    fn wildcards() {
        assert!(glob("sg-*", "sg-123"));
        assert!(glob("a?c", "abc"));
        assert!(!glob("a?c", "ac"));
        assert!(glob("\\*", "*"));
        assert!(!glob("\\*", "x"));
        assert!(glob("*", ""));
    }

    #[test]
    fn pages_and_tokens() {
        let items: Vec<u32> = (0..12).collect();
        let p = Params::parse(b"MaxResults=5").unwrap();
        let (page, next) = paginate(items.clone(), &p).unwrap();
        assert_eq!(page, [0, 1, 2, 3, 4]);
        let token = next.unwrap();
        let p = Params::parse(format!("MaxResults=5&NextToken={token}").as_bytes()).unwrap();
        let (page, next) = paginate(items.clone(), &p).unwrap();
        assert_eq!(page, [5, 6, 7, 8, 9]);
        let p = Params::parse(format!("MaxResults=5&NextToken={}", next.unwrap()).as_bytes()).unwrap();
        let (page, next) = paginate(items.clone(), &p).unwrap();
        assert_eq!((page, next), (vec![10, 11], None));
        let bad = Params::parse(b"NextToken=garbage").unwrap();
        assert_eq!(paginate(items.clone(), &bad).unwrap_err().code, "InvalidPaginationToken");
        let small = Params::parse(b"MaxResults=4").unwrap();
        assert_eq!(paginate(items, &small).unwrap_err().code, "InvalidParameterValue");
    }

    #[test]
    fn tag_specifications_are_checked() {
        let p = Params::parse(
            b"TagSpecification.1.ResourceType=vpc&TagSpecification.1.Tag.1.Key=Name&TagSpecification.1.Tag.1.Value=lab",
        )
        .unwrap();
        assert_eq!(tag_specifications(&p, "vpc").unwrap()["Name"], "lab");
        assert!(tag_specifications(&p, "subnet").is_err());
        let reserved = Params::parse(
            b"TagSpecification.1.ResourceType=vpc&TagSpecification.1.Tag.1.Key=aws:x&TagSpecification.1.Tag.1.Value=1",
        )
        .unwrap();
        assert!(tag_specifications(&reserved, "vpc").is_err());
    }

    #[test]
    fn missing_parameters_are_named_in_camel_case() {
        let e = Params::default().required("CidrBlock").unwrap_err();
        assert_eq!(e.code, "MissingParameter");
        assert_eq!(e.message, "The request must contain the parameter cidrBlock");
    }
}
