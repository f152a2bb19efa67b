-- One database per service, as in production (each service owns its data).
CREATE DATABASE switchboard_config;
CREATE DATABASE switchboard_registry;
