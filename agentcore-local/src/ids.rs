//! Identifier, timestamp and request-id formats as AWS makes them.

use std::time::SystemTime;

const HEX: &[u8] = b"0123456789abcdef";
const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

fn random_from(alphabet: &[u8], len: usize) -> String {
    (0..len).map(|_| alphabet[fastrand::usize(..alphabet.len())] as char).collect()
}

/// An EC2 resource id: `prefix-` and 17 lowercase hex digits (`vpc-0a1b2c3d4e5f60718`).
pub fn ec2_id(prefix: &str) -> String {
    format!("{prefix}-{}", random_from(HEX, 17))
}

/// An AgentCore runtime id: the name, `-`, and 10 alphanumerics (`my_agent-AbCdEf1234`).
pub fn runtime_id(name: &str) -> String {
    format!("{name}-{}", random_from(ALNUM, 10))
}

/// A request id in UUID form.
pub fn request_id() -> String {
    let h = random_from(HEX, 32);
    format!("{}-{}-{}-{}-{}", &h[..8], &h[8..12], &h[12..16], &h[16..20], &h[20..])
}

/// A locally administered unicast MAC address, as EC2 gives ENIs (`0e:…`).
pub fn mac_address() -> String {
    let mut parts = vec!["0e".to_string()];
    parts.extend((0..5).map(|_| random_from(HEX, 2)));
    parts.join(":")
}

/// ISO-8601 / RFC 3339 in UTC with milliseconds (`2025-10-18T04:05:17.123Z`).
pub fn iso8601(t: SystemTime) -> String {
    let t = time::OffsetDateTime::from(t);
    let format =
        time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z");
    t.format(&format).expect("timestamps format")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn formats() {
        let id = ec2_id("eni");
        assert_eq!(id.len(), 4 + 17);
        assert!(id[4..].bytes().all(|b| b.is_ascii_hexdigit()));
        let rid = runtime_id("my_agent");
        assert!(rid.starts_with("my_agent-") && rid.len() == 9 + 10);
        assert_eq!(request_id().len(), 36);
        assert_eq!(mac_address().len(), 17);
        let t = SystemTime::UNIX_EPOCH + Duration::from_millis(1_760_760_317_123);
        assert_eq!(iso8601(t), "2025-10-18T04:05:17.123Z");
    }
}
