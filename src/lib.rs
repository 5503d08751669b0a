//! amlfw: the network rules an Azure Machine Learning workspace needs behind a firewall,
//! selected from Microsoft's article "Configure inbound and outbound network traffic".
//!
//! The pipeline, one module per stage, in reading order:
//!
//! 1. [`scenario`]: the user's YAML scenario, parsed and validated (every problem at once);
//! 2. [`catalog`]: every requirement of the article as data, embedded and validated;
//! 3. [`planner`]: pure selection and realization of rules, no I/O;
//! 4. [`plan`]: the result, printed as text or JSON;
//! 5. [`render`]: the plan as generated files (Terraform), through embedded templates;
//! 6. [`output`]: writing them without touching files amlfw did not write, or comparing
//!    them with what is on disk (`generate --check`);
//! 7. [`cli`]: the command line, the only module that reads files, env vars or prints.
//!
//! [`diagnostic`] is how every stage reports problems; [`diff`] compares plans and
//! catalog revisions for reviewers; [`public_suffix`] knows the Public Suffix List. (rustfmt sorts the `mod` lines
//! below alphabetically; the list above is the reading order.)

pub mod audit;
pub mod catalog;
pub mod cli;
pub mod dependencies;
pub mod diagnostic;
pub mod diff;
pub mod output;
pub mod plan;
pub mod planner;
pub mod public_suffix;
pub mod render;
pub mod scenario;
pub mod service_tags;
