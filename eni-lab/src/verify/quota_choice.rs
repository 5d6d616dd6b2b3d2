//! `--quota-model`: a quota model with its parameter, or a variant's name alone for its parameter
//! fitted to the report's totals; and the variants every load's quota study fits, in order.
//! Apart from [`super::quota_study`] so that the flags need none of the study.

use std::time::Duration;

use eni_model::{QuotaModel, REPORT, SessionPolicy};

/// The variants fitted, in the order shown.
pub const VARIANTS: [QuotaModel; 4] = [
    QuotaModel::Exact,
    QuotaModel::Lagged { lag: Duration::ZERO },
    QuotaModel::Reclaimed { after: Duration::ZERO },
    QuotaModel::PerCell { cells: 1 },
];

/// `--quota-model`: a model with its parameter, or a variant's name alone (`lagged`, `reclaimed`,
/// `per-cell`): its parameter fitted to the report's totals.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum QuotaChoice {
    Given(QuotaModel),
    FittedToReport(QuotaModel),
}

impl std::str::FromStr for QuotaChoice {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match VARIANTS.iter().find(|v| v.name() == text && !matches!(v, QuotaModel::Exact)) {
            Some(&variant) => Ok(QuotaChoice::FittedToReport(variant)),
            None => text.parse().map(QuotaChoice::Given).map_err(|e: eni_model::QuotaModelError| e.to_string()),
        }
    }
}

impl QuotaChoice {
    /// The model with its parameter.
    pub fn resolve(self) -> QuotaModel {
        match self {
            QuotaChoice::Given(model) => model,
            QuotaChoice::FittedToReport(variant) => {
                let policy = SessionPolicy { max_vms: REPORT.max_vms, ..SessionPolicy::default() };
                eni_model::fit(variant, &policy, &REPORT.closed_load(), REPORT.ok, REPORT.refused).model
            }
        }
    }
}
