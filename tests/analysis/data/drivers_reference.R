# Key-driver reference values (tests/analysis/test_drivers.py): R's survey::svyglm on drivers_input.csv.
# Run from the repository root: Rscript tests/analysis/data/drivers_reference.R > tests/analysis/data/drivers_reference.csv
suppressMessages(library(survey))
options(survey.lonely.psu = "adjust")
args <- commandArgs(trailingOnly = TRUE)
d <- read.csv(if (length(args)) args[1] else "tests/analysis/data/drivers_input.csv")
cases <- list(
  cells = svydesign(ids = ~1, strata = ~cell, weights = ~w, data = d),
  clusters = svydesign(ids = ~psu, strata = ~stratum, weights = ~w, data = d),
  constant = svydesign(ids = ~1, strata = ~cell, weights = ~w, data = d)
)
formulas <- list(cells = y ~ a1 + a2 + a3 + a4, clusters = y ~ a1 + a2 + a3 + a4, constant = y ~ a1 + a2 + a5)
rows <- list()
for (case in names(cases)) {
  fit <- svyglm(formulas[[case]], design = cases[[case]], family = quasibinomial())
  ci <- suppressWarnings(confint(fit))
  est <- coef(fit)
  se <- rep(NA, length(est)); names(se) <- names(est)
  se[names(SE(fit))] <- SE(fit)
  rows[[case]] <- data.frame(case = case, term = names(est), coefficient = sprintf("%.17g", est),
                             se = sprintf("%.17g", se), ci_low = sprintf("%.17g", ci[names(est), 1]),
                             ci_high = sprintf("%.17g", ci[names(est), 2]), df = fit$df.residual, n = nobs(fit))
}
out <- do.call(rbind, rows)
cat(sprintf("# R %s, survey %s\n", getRversion(), packageVersion("survey")))
write.csv(out, stdout(), row.names = FALSE, quote = FALSE)
