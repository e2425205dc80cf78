//! The refund fee rule (fliggy-bus.md §3.3.1).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::model::RefundTier;

/// What refunding one ticket costs now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundQuote {
    /// The tier allows a refund and the departure has not left.
    pub refundable: bool,
    /// Fee in fen: `floor(price × p / 100)` when refundable; the whole price otherwise
    /// (the `refundSurcharge` of §3.8).
    pub surcharge: i64,
    /// Money back in fen: price - surcharge when refundable, 0 otherwise.
    pub refund: i64,
    /// Why not, when not refundable.
    pub bar: Option<NotRefundable>,
}

/// Why a ticket cannot be refunded now (`busgate_wire` words it for the passenger).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NotRefundable {
    /// The departure has left (or no tier covers the time left).
    Departed,
    /// The tier [`min_hours`, `max_hours`) before departure refuses refunds.
    Tier { min_hours: u32, max_hours: Option<u32> },
}

const MS_PER_HOUR: i64 = 3_600_000;

/// Which tier applies `h` = (departure - now) hours after now, exactly: tier [a, b) applies iff
/// a ≤ h < b, compared in milliseconds. `None` when departed (h < 0) or no tier covers h
/// (tiers that passed the import checks cover every h ≥ 0).
pub fn applicable_tier(tiers: &[RefundTier], departure: DateTime<Utc>, now: DateTime<Utc>) -> Option<&RefundTier> {
    let ms = (departure - now).num_milliseconds();
    if ms < 0 {
        return None;
    }
    tiers.iter().find(|t| i64::from(t.min_hours) * MS_PER_HOUR <= ms && t.max_hours.is_none_or(|b| ms < i64::from(b) * MS_PER_HOUR))
}

/// The refund of a ticket of `price_fen` at `now` for a departure at `departure` (D), by
/// `tiers` (§3.3.1): the fee is `floor(price × p / 100)`, rounded down in the user's favour;
/// departed (h < 0) or a refusing tier → not refundable, the surcharge is the whole price and
/// the refund 0, with why.
pub fn refund_quote(tiers: &[RefundTier], price_fen: i64, departure: DateTime<Utc>, now: DateTime<Utc>) -> RefundQuote {
    let refuse = |bar: NotRefundable| RefundQuote { refundable: false, surcharge: price_fen, refund: 0, bar: Some(bar) };
    if departure < now {
        return refuse(NotRefundable::Departed);
    }
    match applicable_tier(tiers, departure, now) {
        None => refuse(NotRefundable::Departed),
        Some(t) if !t.refundable => refuse(NotRefundable::Tier { min_hours: t.min_hours, max_hours: t.max_hours }),
        Some(t) => {
            let p = i64::from(t.fee_percent.unwrap_or(0).min(100));
            let surcharge = price_fen.max(0) * p / 100;
            RefundQuote { refundable: true, surcharge, refund: price_fen - surcharge, bar: None }
        }
    }
}

/// Checks a tier list (§3.3.1): non-empty, sorted, starting at 0, no gaps or overlaps, a < b,
/// `maxHours` absent on the last tier only, `feePercent` 0–100 present iff refundable.
/// Returns (tier index or `None` for the list, problem) pairs.
pub fn tier_problems(tiers: &[RefundTier]) -> Vec<(Option<usize>, String)> {
    let mut out = Vec::new();
    if tiers.is_empty() {
        out.push((None, "at least one refund tier is required".to_string()));
        return out;
    }
    if tiers[0].min_hours != 0 {
        out.push((Some(0), format!("the first tier must start at minHours 0, not {}", tiers[0].min_hours)));
    }
    let last = tiers.len() - 1;
    for (i, t) in tiers.iter().enumerate() {
        match t.max_hours {
            None if i != last => out.push((Some(i), "maxHours is required except on the last tier".to_string())),
            Some(_) if i == last => out.push((Some(i), "the last tier must be open: leave maxHours out".to_string())),
            Some(b) if b <= t.min_hours => out.push((Some(i), format!("maxHours {b} must be greater than minHours {}", t.min_hours))),
            _ => {}
        }
        if i > 0 {
            if let Some(prev_max) = tiers[i - 1].max_hours {
                if t.min_hours > prev_max {
                    out.push((Some(i), format!("gap: hours {prev_max}–{} are not covered", t.min_hours)));
                } else if t.min_hours < prev_max {
                    out.push((Some(i), format!("overlap: minHours {} is below the previous maxHours {prev_max}", t.min_hours)));
                }
            }
        }
        match (t.refundable, t.fee_percent) {
            (true, None) => out.push((Some(i), "feePercent is required when refundable".to_string())),
            (true, Some(p)) if p > 100 => out.push((Some(i), format!("feePercent {p} is over 100"))),
            (false, Some(_)) => out.push((Some(i), "feePercent must be left out when not refundable".to_string())),
            _ => {}
        }
    }
    out
}
