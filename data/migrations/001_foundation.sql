-- 001: the foundation. PostGIS, so that geometry columns (service areas,
-- warehouse and station points) can be queried by operators; later
-- migrations add the business records.
CREATE EXTENSION IF NOT EXISTS postgis;
