//! What every bench server stores: the typical session (a user id, a role, a 3-item cart), so
//! the actix (`bench-server`) and axum (`axum-bench-server`) runs seal the same data.

use serde::{Deserialize, Serialize};

/// One cart line of the typical session.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CartItem {
    sku: String,
    quantity: u16,
}

/// The typical session's cart.
pub fn cart() -> Vec<CartItem> {
    ["sku-1001", "sku-2002", "sku-3003"]
        .into_iter()
        .enumerate()
        .map(|(i, sku)| CartItem {
            sku: sku.to_owned(),
            quantity: u16::try_from(i + 1).unwrap_or(1),
        })
        .collect()
}

/// The typical session's user id.
pub const USER_ID: u64 = 1_234_567;
