//! Pure model of AgentCore Runtime VPC ENIs.
