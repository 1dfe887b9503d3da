"""The registry of Sơn La's units and services: versioned data files and their loader."""
