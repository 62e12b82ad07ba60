//! Command-line flags: clap parses them into [`LowArgs`] (raw values, syntax only), then
//! [`HiArgs::from_low_args`] checks them and resolves defaults into one configuration per
//! command (ripgrep's `lowargs.rs` → `hiargs.rs`).

mod hiargs;
mod lowargs;

pub(crate) use hiargs::{
    HiArgs, InspectConfig, KeygenConfig, OutputFormat, RotateAction, RotateConfig,
};
pub(crate) use lowargs::LowArgs;
