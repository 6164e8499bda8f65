# R survival on the benchmark data: times each task (excluding the CSV load) and
# prints one JSON object.  Called by benchmarks/run.py: Rscript peers.R data.csv
suppressMessages({library(survival); library(data.table); library(jsonlite)})
args <- commandArgs(trailingOnly = TRUE)
elapsed <- function() proc.time()[["elapsed"]]
t0 <- elapsed()
d <- fread(args[1])
res <- list(load = elapsed() - t0)
tm <- function(expr) { t <- elapsed(); force(expr); elapsed() - t }
# KM with log intervals (R's default), by the 4 treatment groups.
res$km <- tm(km <- survfit(Surv(time, event) ~ group, data = d, conf.type = "log"))
res$logrank <- tm(lr <- survdiff(Surv(time, event) ~ group, data = d))
res$km_and_logrank <- res$km + res$logrank
res$km_entry <- tm(kme <- survfit(Surv(entry, time, event) ~ group, data = d))
res$cox <- tm(cf <- coxph(Surv(time, event) ~ age + ki67 + sex, data = d, ties = "efron"))
res$cox_terms <- names(coef(cf))
res$cox_coef <- unname(coef(cf))
res$logrank_chisq <- lr$chisq
res$r_version <- R.version.string
res$survival_version <- as.character(packageVersion("survival"))
cat(toJSON(res, auto_unbox = TRUE, digits = NA))
