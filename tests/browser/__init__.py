"""End-to-end tests in a real browser (marker "browser")."""
