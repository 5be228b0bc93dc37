//! `google.protobuf.Timestamp`, with the canonical JSON form.
//!
//! pbjson-types' Timestamp writes `+00:00` where the protobuf JSON mapping
//! (and Go's envd) write `Z`, so this crate carries its own: the same binary
//! encoding, and JSON that is RFC 3339 in UTC with `Z` and 0, 3, 6 or 9
//! fractional digits. Parsing accepts any RFC 3339 offset.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use chrono::{DateTime, SecondsFormat, Utc};

/// A point in time, as seconds and nanoseconds since the Unix epoch.
///
/// ```
/// use e2b_proto::well_known::Timestamp;
///
/// let t = Timestamp { seconds: 1_755_770_400, nanos: 5_000_000 };
/// assert_eq!(serde_json::to_string(&t).unwrap(), r#""2025-08-21T10:00:00.005Z""#);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Message)]
pub struct Timestamp {
    /// Seconds since 1970-01-01T00:00:00Z.
    #[prost(int64, tag = "1")]
    pub seconds: i64,
    /// Non-negative fraction of a second, below 1e9.
    #[prost(int32, tag = "2")]
    pub nanos: i32,
}

impl Timestamp {
    /// The timestamp as a chrono date-time, if it is in the representable range.
    pub fn to_datetime(&self) -> Option<DateTime<Utc>> {
        u32::try_from(self.nanos).ok().and_then(|n| DateTime::from_timestamp(self.seconds, n))
    }
}

impl From<DateTime<Utc>> for Timestamp {
    fn from(t: DateTime<Utc>) -> Self {
        Timestamp { seconds: t.timestamp(), nanos: t.timestamp_subsec_nanos() as i32 }
    }
}

impl From<SystemTime> for Timestamp {
    fn from(t: SystemTime) -> Self {
        match t.duration_since(UNIX_EPOCH) {
            Ok(d) => Timestamp { seconds: d.as_secs() as i64, nanos: d.subsec_nanos() as i32 },
            Err(e) => {
                let d = e.duration();
                let (mut seconds, mut nanos) = (-(d.as_secs() as i64), -(d.subsec_nanos() as i32));
                if nanos < 0 {
                    seconds -= 1;
                    nanos += 1_000_000_000;
                }
                Timestamp { seconds, nanos }
            }
        }
    }
}

impl TryFrom<Timestamp> for SystemTime {
    type Error = &'static str;

    fn try_from(t: Timestamp) -> Result<Self, Self::Error> {
        let nanos = u32::try_from(t.nanos).map_err(|_| "negative nanos")?;
        let since = Duration::new(t.seconds.unsigned_abs(), 0);
        let base = if t.seconds >= 0 { UNIX_EPOCH.checked_add(since) } else { UNIX_EPOCH.checked_sub(since) };
        base.and_then(|b| b.checked_add(Duration::from_nanos(nanos.into()))).ok_or("timestamp out of range")
    }
}

impl serde::Serialize for Timestamp {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let t = self.to_datetime().ok_or_else(|| serde::ser::Error::custom("timestamp out of range"))?;
        serializer.serialize_str(&t.to_rfc3339_opts(SecondsFormat::AutoSi, true))
    }
}

impl<'de> serde::Deserialize<'de> for Timestamp {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        let t = DateTime::parse_from_rfc3339(&text)
            .map_err(|e| serde::de::Error::custom(format!("invalid timestamp {text:?}: {e}")))?;
        Ok(t.with_timezone(&Utc).into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fraction_digits_are_0_3_6_or_9() {
        for (nanos, text) in [
            (0, "2025-08-21T10:00:00Z"),
            (120_000_000, "2025-08-21T10:00:00.120Z"),
            (123_400_000, "2025-08-21T10:00:00.123400Z"),
            (123_456_789, "2025-08-21T10:00:00.123456789Z"),
        ] {
            let t = Timestamp { seconds: 1_755_770_400, nanos };
            assert_eq!(serde_json::to_value(t).unwrap(), text);
            assert_eq!(serde_json::from_value::<Timestamp>(text.into()).unwrap(), t);
        }
    }

    #[test]
    fn system_time_round_trip_before_and_after_epoch() {
        for t in [UNIX_EPOCH + Duration::new(5, 7), UNIX_EPOCH - Duration::new(5, 7)] {
            assert_eq!(SystemTime::try_from(Timestamp::from(t)).unwrap(), t);
        }
    }

    #[test]
    fn out_of_range_is_an_error() {
        assert!(serde_json::to_string(&Timestamp { seconds: i64::MAX, nanos: 0 }).is_err());
        assert!(serde_json::from_str::<Timestamp>(r#""yesterday""#).is_err());
    }
}
