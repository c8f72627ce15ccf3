DROP TABLE auth_guards;
