#!/bin/sh
# GitLab merge-request helpers for the zplan jobs (curl and python3).
#
#   gitlab-mr.sh note FILE [new]  post FILE as a merge-request comment; without
#                                 "new", update in place the comment that starts
#                                 with FILE's first line (its marker), if any
#   gitlab-mr.sh check            refuse (exit 1) unless the merge request is
#                                 open, its head is the commit of this pipeline
#                                 (ZPLAN_COMMIT), and someone approved it
#                                 (ZPLAN_REQUIRE_APPROVAL=false: no approval needed);
#                                 the reason goes to ZPLAN_RESULT_FILE too
#   gitlab-mr.sh actor            print the acting user's e-mail on record:
#                                 ZPLAN_ACTORS (JSON, username -> e-mail) for
#                                 GITLAB_USER_LOGIN, else GITLAB_USER_EMAIL
#
# Needs ZPLAN_GITLAB_TOKEN (note, check): a project access token with the api
# scope (role Reporter or above), as a masked CI/CD variable.
set -eu

py=${ZPLAN_PYTHON:-python3}

api() {
	# api METHOD PATH [JSON-BODY-FILE]
	url="${CI_API_V4_URL:?}/projects/${CI_PROJECT_ID:?}/merge_requests/${CI_MERGE_REQUEST_IID:?}$2"
	if [ $# -ge 3 ]; then
		curl --fail --silent --show-error --request "$1" \
			--header "PRIVATE-TOKEN: ${ZPLAN_GITLAB_TOKEN:?set ZPLAN_GITLAB_TOKEN}" \
			--header "Content-Type: application/json" --data "@$3" "$url"
	else
		curl --fail --silent --show-error --request "$1" \
			--header "PRIVATE-TOKEN: ${ZPLAN_GITLAB_TOKEN:?set ZPLAN_GITLAB_TOKEN}" "$url"
	fi
}

case ${1:-} in
note)
	file=${2:?usage: gitlab-mr.sh note FILE [new]}
	[ -s "$file" ] || exit 0
	body=$(mktemp)
	"$py" -c 'import json, sys; json.dump({"body": open(sys.argv[1], encoding="utf-8").read()}, sys.stdout)' "$file" >"$body"
	id=
	if [ "${3:-}" != new ]; then
		marker=$(head -n 1 "$file")
		id=$(api GET "/notes?per_page=100&sort=desc&order_by=updated_at" |
			"$py" -c 'import json, sys
for note in json.load(sys.stdin):
    if note["body"].startswith(sys.argv[1]):
        print(note["id"])
        break' "$marker")
	fi
	if [ -n "$id" ]; then
		api PUT "/notes/$id" "$body" >/dev/null
	else
		api POST "/notes" "$body" >/dev/null
	fi
	rm -f "$body"
	;;
check)
	mr=$(mktemp)
	approvals=$(mktemp)
	api GET "" >"$mr"
	api GET "/approvals" >"$approvals"
	"$py" -c 'import json, os, sys
mr = json.load(open(sys.argv[1], encoding="utf-8"))
approvals = json.load(open(sys.argv[2], encoding="utf-8"))
commit = os.environ.get("ZPLAN_COMMIT") or os.environ.get("CI_COMMIT_SHA")
state, head = mr["state"], mr["sha"]
problems = []
if state != "opened":
    problems.append(f"the merge request is {state}")
if head != commit:
    problems.append(f"its head is now {head}, not {commit}: run the apply job of the newest pipeline")
if os.environ.get("ZPLAN_REQUIRE_APPROVAL") != "false" and not approvals.get("approved_by"):
    problems.append("nobody has approved it")
if problems:
    why = "not applying: " + "; ".join(problems)
    if os.environ.get("ZPLAN_RESULT_FILE"):
        with open(os.environ["ZPLAN_RESULT_FILE"], "w", encoding="utf-8") as out:
            out.write(f"<!-- zplan-apply -->\n### ❌ zplan: nothing was applied\n\n{why}\n")
    sys.exit("zplan-ci: " + why)' "$mr" "$approvals"
	rm -f "$mr" "$approvals"
	;;
actor)
	"$py" -c 'import json, os
actors = json.loads(os.environ.get("ZPLAN_ACTORS") or "{}")
print(actors.get(os.environ.get("GITLAB_USER_LOGIN", "")) or os.environ.get("GITLAB_USER_EMAIL", ""))'
	;;
*)
	echo "usage: gitlab-mr.sh note FILE [new] | check | actor" >&2
	exit 1
	;;
esac
