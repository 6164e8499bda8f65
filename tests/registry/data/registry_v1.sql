-- A registry as schema version 1 wrote it (the first release), with a few rows.
-- Differences from version 2: therapies.activity_mci (mCi) instead of
-- activity_mbq; diagnoses has no lung_category. Hand-written, not generated
-- from today's model, so that the migration is tested against the old layout.
CREATE TABLE schema_version (version INTEGER PRIMARY KEY, applied_at TIMESTAMP);
CREATE TABLE import_batches (batch_id VARCHAR PRIMARY KEY, at_utc TIMESTAMP, who VARCHAR, sources VARCHAR, inserted BIGINT, updated BIGINT);
CREATE TABLE audit (audit_id BIGINT PRIMARY KEY, at_utc TIMESTAMP, who VARCHAR, action VARCHAR, table_name VARCHAR, row_key VARCHAR, old_values VARCHAR, new_values VARCHAR, batch_id VARCHAR, source_file VARCHAR, source_sha256 VARCHAR);
CREATE TABLE patients (patient_id VARCHAR, sex VARCHAR, birth_year BIGINT, site VARCHAR, PRIMARY KEY (patient_id));
CREATE TABLE diagnoses (patient_id VARCHAR, diagnosis_date DATE, primary_site VARCHAR, icdo3_topography VARCHAR, icdo3_morphology VARCHAR, differentiation VARCHAR, who_grade VARCHAR, ki67_percent DOUBLE, mitotic_count DOUBLE, stage VARCHAR, m_category VARCHAR, metastatic_sites VARCHAR, PRIMARY KEY (patient_id));
CREATE TABLE treatments (patient_id VARCHAR, treatment_id VARCHAR, kind VARCHAR, start_date DATE, end_date DATE, PRIMARY KEY (treatment_id));
CREATE TABLE progressions (patient_id VARCHAR, progression_id VARCHAR, date DATE, basis VARCHAR, PRIMARY KEY (progression_id));
CREATE TABLE scans (patient_id VARCHAR, scan_id VARCHAR, date DATE, modality VARCHAR, PRIMARY KEY (scan_id));
CREATE TABLE lesions (scan_id VARCHAR, lesion_id VARCHAR, site VARCHAR, longest_diameter_mm DOUBLE, uptake_grade BIGINT, PRIMARY KEY (scan_id, lesion_id));
CREATE TABLE therapies (patient_id VARCHAR, therapy_id VARCHAR, agent VARCHAR, date DATE, activity_mci DOUBLE, cycle BIGINT, PRIMARY KEY (therapy_id));
CREATE TABLE assessments (patient_id VARCHAR, assessment_id VARCHAR, date DATE, kind VARCHAR, symptomatic_response VARCHAR, recist_response VARCHAR, biomarker VARCHAR, value DOUBLE, unit VARCHAR, PRIMARY KEY (assessment_id));
CREATE TABLE followup (patient_id VARCHAR, last_contact_date DATE, vital_status VARCHAR, death_date DATE, death_cause VARCHAR, PRIMARY KEY (patient_id));

INSERT INTO schema_version VALUES (1, TIMESTAMP '2012-05-01 09:00:00');
INSERT INTO patients VALUES ('NET001', 'female', 1950, 'CTR1'), ('NET002', 'male', 1931, 'CTR1');
INSERT INTO diagnoses VALUES
  ('NET001', DATE '2005-03-14', 'small_bowel', 'C17.2', '8240/3', 'well', 'G1', 1.5, 1, 'IV', 'M1a', 'liver'),
  ('NET002', DATE '2007-11-02', 'pancreas', 'C25.1', '8249/3', 'well', 'G2', 8, 3, 'IV', 'M1c', 'liver;bone');
INSERT INTO therapies VALUES
  ('NET001', 'TH1', 'i131_mibg', DATE '2009-04-15', 200, 1),
  ('NET002', 'TH3', 'i131_mibg', DATE '2010-02-20', 300, 1);
INSERT INTO followup VALUES ('NET001', DATE '2011-08-01', 'alive', NULL, NULL);
INSERT INTO audit VALUES (1, TIMESTAMP '2012-05-01 09:00:01', 'founder', 'insert', 'patients',
  '{"patient_id": "NET001"}', NULL, '{"patient_id": "NET001"}', 'b0', 'patients.csv', 'x');
