// Package linear implements mlrun's linear estimators, matching
// scikit-learn 1.2.1: logistic_regression (LogisticRegression with the
// lbfgs solver), linear_regression (LinearRegression) and ridge (Ridge).
//
// Every estimator keeps its hyperparameters and fitted state in exported
// fields with scikit-learn's names in JSON, so that a fitted model
// marshalled with encoding/json and unmarshalled into the estimator that
// Spec.New returns predicts bit-identically.
package linear

import "github.com/mlrun/mlrun/ml"

// Specs returns the estimator kinds of this package.
func Specs() []ml.Spec {
	return []ml.Spec{logisticSpec(), linearRegressionSpec(), ridgeSpec()}
}
