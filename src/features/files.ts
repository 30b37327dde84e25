/** Path classes that change a build's risk. Kept as data so they are easy to extend and to test. */
const DEPENDENCY_FILES =
  /(^|\/)(package\.json|package-lock\.json|npm-shrinkwrap\.json|yarn\.lock|pnpm-lock\.yaml|Cargo\.toml|Cargo\.lock|go\.mod|go\.sum|requirements[^/]*\.txt|Pipfile(\.lock)?|poetry\.lock|pyproject\.toml|setup\.py|setup\.cfg|pom\.xml|build\.gradle(\.kts)?|settings\.gradle(\.kts)?|gradle\.lockfile|Gemfile(\.lock)?|\.gemspec|composer\.(json|lock)|mix\.(exs|lock)|Podfile(\.lock)?|packages\.config|[^/]+\.csproj|Directory\.Packages\.props|flake\.lock)$/i;
const CI_FILES =
  /(^|\/)(\.github\/workflows\/[^/]+|\.github\/actions\/.+|\.travis\.yml|\.gitlab-ci\.yml|Jenkinsfile|\.circleci\/.+|azure-pipelines\.yml|\.buildkite\/.+|bitbucket-pipelines\.yml|\.drone\.yml|appveyor\.yml)$/i;
const TEST_FILES =
  /(^|\/)(tests?|specs?|__tests__|testing|e2e)\/|[._-](test|spec)s?\.[a-z0-9]+$|_test\.go$|Test[A-Z]?\w*\.(java|kt|scala)$/;
const DOC_FILES =
  /(^|\/)(docs?|documentation)\/|\.(md|markdown|rst|adoc|txt)$|(^|\/)(README|CHANGELOG|LICENSE|CONTRIBUTING|AUTHORS)[^/]*$/i;
const SOURCE_FILES =
  /\.(ts|tsx|js|jsx|mjs|cjs|py|rb|go|rs|java|kt|kts|scala|c|cc|cpp|cxx|h|hpp|cs|fs|swift|m|mm|php|ex|exs|erl|hs|ml|clj|lua|pl|sh|sql|vue|svelte)$/i;

export interface FileMix {
  touchesDeps: number;
  touchesCi: number;
  shareTest: number;
  shareDocs: number;
  shareSource: number;
}

export function classifyFiles(files: readonly string[] | null): FileMix {
  if (files == null || files.length === 0)
    return { touchesDeps: NaN, touchesCi: NaN, shareTest: NaN, shareDocs: NaN, shareSource: NaN };
  let deps = 0;
  let ci = 0;
  let test = 0;
  let docs = 0;
  let src = 0;
  for (const f of files) {
    if (DEPENDENCY_FILES.test(f)) deps = 1;
    if (CI_FILES.test(f)) ci = 1;
    if (TEST_FILES.test(f)) test++;
    else if (DOC_FILES.test(f)) docs++;
    else if (SOURCE_FILES.test(f)) src++;
  }
  const n = files.length;
  return { touchesDeps: deps, touchesCi: ci, shareTest: test / n, shareDocs: docs / n, shareSource: src / n };
}

export const isDependencyFile = (p: string): boolean => DEPENDENCY_FILES.test(p);
export const isCiFile = (p: string): boolean => CI_FILES.test(p);
