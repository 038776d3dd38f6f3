-- 0053: the 不開示決定通知書 (issue 12 gap 1): a refused disclosure request gets its own signed letter,
-- with a number of its own, printed from the register.
--
-- decision_number: the letter's 発行番号, set when the letter is first printed (a reprint keeps it);
-- only a refused request has one (an issued request has its issue_number instead, never both).
-- decision_issued_at: when it was first printed. The reason is the request's refusal_code (the match's
-- T_DISCLOSURE_NO_MATCH / T_DISCLOSURE_AMBIGUOUS, or the counter's decision — see
-- services/disclosure/refusal.py); nothing about any candidate is stored, so the letter cannot print one.
SET ROLE juki_pref_owner;
ALTER TABLE pref.disclosure_request
  ADD COLUMN decision_number text UNIQUE,
  ADD COLUMN decision_issued_at timestamptz,
  ADD CONSTRAINT disclosure_request_decision_refused
    CHECK (decision_number IS NULL OR (status = 'refused' AND refusal_code IS NOT NULL)),
  ADD CONSTRAINT disclosure_request_decision_at
    CHECK ((decision_number IS NULL) = (decision_issued_at IS NULL));
RESET ROLE;

SET ROLE juki_fuhyo_owner;
ALTER TABLE fuhyo.disclosure_request
  ADD COLUMN decision_number text UNIQUE,
  ADD COLUMN decision_issued_at timestamptz,
  ADD CONSTRAINT disclosure_request_decision_refused
    CHECK (decision_number IS NULL OR (status = 'refused' AND refusal_code IS NOT NULL)),
  ADD CONSTRAINT disclosure_request_decision_at
    CHECK ((decision_number IS NULL) = (decision_issued_at IS NULL));
RESET ROLE;
