//! Money crosses the API as decimal strings in token units ("10.00") and lives everywhere else as
//! integers in base units (`U256`). Parsing is exact: more decimals than the token has is an error,
//! never a rounding.

use alloy_primitives::U256;

/// Why a decimal amount string was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AmountError {
    /// Not of the form `123` or `123.45`.
    #[error("must be a decimal number like \"10.00\"")]
    Malformed,
    /// More fractional digits than the token's decimals.
    #[error("has more than {decimals} decimal places")]
    TooPrecise {
        /// The token's decimals.
        decimals: u8,
    },
    /// Does not fit in 256 bits of base units.
    #[error("is too large")]
    TooLarge,
}

/// Parses a decimal string in token units into base units, e.g. `("10.5", 6)` → `10_500_000`.
pub fn parse_units(s: &str, decimals: u8) -> Result<U256, AmountError> {
    let (int, frac) = match s.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (s, None),
    };
    let digits = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit());
    if !digits(int) || frac.is_some_and(|f| !digits(f)) {
        return Err(AmountError::Malformed);
    }
    let frac = frac.unwrap_or("");
    if frac.len() > usize::from(decimals) {
        // Trailing zeros beyond the token's precision carry no value, but the API contract is exact
        // input: reject rather than silently reinterpret.
        return Err(AmountError::TooPrecise { decimals });
    }
    let scale = U256::from(10u8).pow(U256::from(decimals));
    let int = U256::from_str_radix(int, 10).map_err(|_| AmountError::TooLarge)?;
    let padded = format!("{frac:0<width$}", width = usize::from(decimals));
    let frac = if padded.is_empty() {
        U256::ZERO
    } else {
        U256::from_str_radix(&padded, 10).map_err(|_| AmountError::TooLarge)?
    };
    int.checked_mul(scale).and_then(|v| v.checked_add(frac)).ok_or(AmountError::TooLarge)
}

/// Formats base units as a decimal string in token units with at least two decimals (fewer only if
/// the token has fewer), e.g. `(10_500_000, 6)` → `"10.50"`, `(1, 6)` → `"0.000001"`.
pub fn format_units(value: U256, decimals: u8) -> String {
    let scale = U256::from(10u8).pow(U256::from(decimals));
    let (int, frac) = (value / scale, value % scale);
    if decimals == 0 {
        return int.to_string();
    }
    let frac = format!("{:0>width$}", frac.to_string(), width = usize::from(decimals));
    let keep = frac.trim_end_matches('0').len().max(2.min(usize::from(decimals)));
    format!("{int}.{}", &frac[..keep])
}

/// `value` base units of a token with `from` decimals as base units of one with `to` decimals (the same
/// amount in token units), rounded up when `to` cannot hold it exactly: a payer asked for it pays at
/// least the amount, never less. `None` if it does not fit 256 bits.
pub fn rescale_units(value: U256, from: u8, to: u8) -> Option<U256> {
    let ten = U256::from(10u8);
    if to >= from {
        return value.checked_mul(ten.checked_pow(U256::from(to - from))?);
    }
    let divisor = ten.pow(U256::from(from - to));
    Some(value.div_ceil(divisor))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rescaling_keeps_the_amount_and_rounds_up_what_the_target_cannot_hold() {
        let cases: &[(u64, u8, u8, u64)] = &[
            (10_000_000, 6, 6, 10_000_000),
            (10_000_000, 6, 9, 10_000_000_000),
            (10_000_000_000, 9, 6, 10_000_000),
            (10_000_000_001, 9, 6, 10_000_001),
            (1, 9, 6, 1),
            (0, 9, 6, 0),
            (5, 0, 2, 500),
        ];
        for &(value, from, to, want) in cases {
            assert_eq!(
                rescale_units(U256::from(value), from, to),
                Some(U256::from(want)),
                "{value} {from}→{to}"
            );
        }
        assert_eq!(rescale_units(U256::MAX, 6, 18), None, "too large");
    }

    #[test]
    fn parses_exact_decimal_amounts_into_base_units() {
        let cases: &[(&str, u8, u64)] = &[
            ("10.00", 6, 10_000_000),
            ("10", 6, 10_000_000),
            ("0.000001", 6, 1),
            ("10.5", 6, 10_500_000),
            ("0", 6, 0),
            ("007.1", 6, 7_100_000),
            ("3", 0, 3),
            ("1.25", 2, 125),
        ];
        for &(s, d, want) in cases {
            assert_eq!(parse_units(s, d), Ok(U256::from(want)), "{s} with {d} decimals");
        }
    }

    #[test]
    fn rejects_malformed_or_over_precise_amounts() {
        for s in ["", ".", "1.", ".5", "-1", "+1", "1e6", "1,00", " 1", "1.0.0", "0x10", "١٠"] {
            assert_eq!(parse_units(s, 6), Err(AmountError::Malformed), "{s:?}");
        }
        assert_eq!(parse_units("1.0000001", 6), Err(AmountError::TooPrecise { decimals: 6 }));
        assert_eq!(parse_units("1.5", 0), Err(AmountError::TooPrecise { decimals: 0 }));
        let huge = "1".repeat(80);
        assert_eq!(parse_units(&huge, 6), Err(AmountError::TooLarge));
    }

    #[test]
    fn formats_with_at_least_two_decimals() {
        let cases: &[(u64, u8, &str)] = &[
            (10_000_000, 6, "10.00"),
            (10_500_000, 6, "10.50"),
            (1, 6, "0.000001"),
            (123_456_789, 6, "123.456789"),
            (0, 6, "0.00"),
            (5, 0, "5"),
            (15, 1, "1.5"),
        ];
        for &(v, d, want) in cases {
            assert_eq!(format_units(U256::from(v), d), want);
        }
    }

    #[test]
    fn format_then_parse_round_trips() {
        for v in [0u64, 1, 99, 10_000_000, 123_456_789_012] {
            let v = U256::from(v);
            assert_eq!(parse_units(&format_units(v, 6), 6), Ok(v));
            assert_eq!(parse_units(&format_units(v, 18), 18), Ok(v));
        }
    }
}
