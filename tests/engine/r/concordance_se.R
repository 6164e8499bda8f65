# R's concordance of a Cox fit with its standard error (fit$concordance["std"]), for
# tests/engine/test_engine_concordance_se.py.  Run from this folder:
#   Rscript concordance_se.R   (writes concordance_se.json)
library(survival)
data_dir <- "../../fixtures/data"
lung <- read.csv(file.path(data_dir, "lung.csv"))
veteran <- read.csv(file.path(data_dir, "veteran.csv"))
heart <- read.csv(file.path(data_dir, "heart.csv"))
lung$w <- 1 + (seq_len(nrow(lung)) - 1) %% 3
case <- function(fit) {
  cc <- fit$concordance
  list(concordance = unname(cc["concordance"]), std = unname(cc["std"]),
       concordant = unname(cc["concordant"]), discordant = unname(cc["discordant"]),
       tied_x = unname(cc["tied.x"]))
}
out <- list(
  lung_age_sex_ecog = case(coxph(Surv(time, event) ~ age + sex + ph_ecog, data = lung)),
  lung_weighted = case(coxph(Surv(time, event) ~ age + sex + ph_ecog, data = lung, weights = w)),
  veteran_strata = case(coxph(Surv(time, event) ~ trt + karno + strata(celltype), data = veteran)),
  heart_counting = case(coxph(Surv(start, stop, event) ~ age + year + surgery + transplant,
                              data = heart)),
  lung_cluster_inst = case(coxph(Surv(time, event) ~ age + sex + cluster(inst), data = lung)),
  veteran_breslow = case(coxph(Surv(time, event) ~ trt + karno + celltype, data = veteran,
                               ties = "breslow"))
)
# JSON by hand (jsonlite is not installed everywhere): 17 significant digits.
num <- function(x) sprintf("%.17g", x)
blocks <- vapply(names(out), function(name) {
  b <- out[[name]]
  fields <- vapply(names(b), function(k) sprintf('"%s": %s', k, num(b[[k]])), "")
  sprintf('  "%s": {%s}', name, paste(fields, collapse = ", "))
}, "")
version <- sprintf('  "r_version": "%s", "survival_version": "%s"', R.version.string,
                   as.character(packageVersion("survival")))
writeLines(c("{", paste0(c(blocks, version), c(rep(",", length(blocks)), "")), "}"),
           "concordance_se.json")
