/**
 * SQL for the key that ties a candidate's attempts together: the invite's e-mail, else the name
 * given at upload, else the submission itself. `s` and `i` are the aliases of the submissions and
 * invites rows (the invite joined on s.invite_id).
 */
export const candidateKeySql = (s = 's', i = 'i'): string => `COALESCE('mail:' || lower(${i}.candidate_email), 'name:' || lower(${s}.candidate), 'sub:' || ${s}.id::text)`;
