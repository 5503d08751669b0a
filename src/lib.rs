//! amlfw: the network rules an Azure Machine Learning workspace needs behind a firewall,
//! selected from Microsoft's article "Configure inbound and outbound network traffic".
//!
//! The pipeline, one module per stage, in reading order:
//!
//! 1. [`scenario`]: the user's YAML scenario, parsed and validated (every problem at once);
//! 2. [`catalog`]: every requirement of the article as data, embedded and validated;
//! 3. [`planner`]: pure selection and realization of rules, no I/O;
//! 4. [`plan`]: the result, printed as text or JSON;
//! 5. [`cli`]: the command line, the only module that reads files, env vars or prints.
//!
//! [`diagnostic`] is how every stage reports problems.

pub mod catalog;
pub mod cli;
pub mod diagnostic;
pub mod plan;
pub mod planner;
pub mod scenario;
