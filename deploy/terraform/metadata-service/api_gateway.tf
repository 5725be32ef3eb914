# Public endpoint: a REST API proxied through a VPC link to the internal NLB.

resource "aws_api_gateway_rest_api" "this" {
  count = var.enable_api_gateway ? 1 : 0
  name  = "${local.name}-api"
  tags  = var.standard_tags

  endpoint_configuration {
    types = [local.is_gov ? "REGIONAL" : "EDGE"]
  }
}

data "aws_iam_policy_document" "source_ip" {
  count = local.with_source_ip_policy ? 1 : 0

  statement {
    sid       = "AllowInvoke"
    effect    = "Allow"
    actions   = ["execute-api:Invoke"]
    resources = ["${aws_api_gateway_rest_api.this[0].execution_arn}/*"]
    principals {
      type        = "*"
      identifiers = ["*"]
    }
  }

  statement {
    sid       = "DenyOtherSourceIps"
    effect    = "Deny"
    actions   = ["execute-api:Invoke"]
    resources = ["${aws_api_gateway_rest_api.this[0].execution_arn}/*"]
    principals {
      type        = "*"
      identifiers = ["*"]
    }
    condition {
      test     = "NotIpAddress"
      variable = "aws:SourceIp"
      values   = var.access_list_cidr_blocks
    }
  }
}

resource "aws_api_gateway_rest_api_policy" "this" {
  count       = local.with_source_ip_policy ? 1 : 0
  rest_api_id = aws_api_gateway_rest_api.this[0].id
  policy      = data.aws_iam_policy_document.source_ip[0].json
}

resource "aws_api_gateway_vpc_link" "this" {
  count       = var.enable_api_gateway ? 1 : 0
  name        = "${local.name}-vpc-link"
  target_arns = [aws_lb.this.arn]
  tags        = var.standard_tags
}

# The gateway's two routes: every path to the API (NLB port 80), and GET /db_schema_status to
# the migration API (NLB port 8082). Only `proxy` passes its path on. (Every route has the same
# attribute types, so the object converts to the map that for_each needs.)
locals {
  gateway_routes = {
    proxy = {
      path_part   = "{proxy+}"
      http_method = "ANY"
      uri         = "http://${aws_lb.this.dns_name}/{proxy}"
    }
    db_schema_status = {
      path_part   = "db_schema_status"
      http_method = "GET"
      uri         = "${local.migration_url}/db_schema_status"
    }
  }
  enabled_gateway_routes = { for name, route in local.gateway_routes : name => route if var.enable_api_gateway }
}

resource "aws_api_gateway_resource" "this" {
  for_each    = local.enabled_gateway_routes
  rest_api_id = aws_api_gateway_rest_api.this[0].id
  parent_id   = aws_api_gateway_rest_api.this[0].root_resource_id
  path_part   = each.value.path_part
}

resource "aws_api_gateway_method" "this" {
  for_each           = local.enabled_gateway_routes
  rest_api_id        = aws_api_gateway_rest_api.this[0].id
  resource_id        = aws_api_gateway_resource.this[each.key].id
  http_method        = each.value.http_method
  authorization      = "NONE"
  api_key_required   = var.enable_api_basic_auth
  request_parameters = { for name, required in { "method.request.path.proxy" = true } : name => required if each.key == "proxy" }
}

resource "aws_api_gateway_integration" "this" {
  for_each                = local.enabled_gateway_routes
  rest_api_id             = aws_api_gateway_rest_api.this[0].id
  resource_id             = aws_api_gateway_resource.this[each.key].id
  http_method             = aws_api_gateway_method.this[each.key].http_method
  type                    = "HTTP_PROXY"
  integration_http_method = each.value.http_method
  uri                     = each.value.uri
  connection_type         = "VPC_LINK"
  connection_id           = aws_api_gateway_vpc_link.this[0].id
  request_parameters      = { for name, from in { "integration.request.path.proxy" = "method.request.path.proxy" } : name => from if each.key == "proxy" }
}

resource "aws_api_gateway_deployment" "this" {
  count       = var.enable_api_gateway ? 1 : 0
  rest_api_id = aws_api_gateway_rest_api.this[0].id

  # A new deployment whenever the routes or the policy change.
  triggers = {
    redeployment = sha1(jsonencode([
      aws_api_gateway_resource.this,
      aws_api_gateway_method.this,
      aws_api_gateway_integration.this,
      [for policy in aws_api_gateway_rest_api_policy.this : policy.policy],
    ]))
  }

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_api_gateway_stage" "api" {
  count         = var.enable_api_gateway ? 1 : 0
  rest_api_id   = aws_api_gateway_rest_api.this[0].id
  deployment_id = aws_api_gateway_deployment.this[0].id
  stage_name    = "api"
  tags          = var.standard_tags
}

# Clients send the key as header x-api-key (METAFLOW_SERVICE_AUTH_KEY).
resource "aws_api_gateway_api_key" "this" {
  count = local.with_api_key ? 1 : 0
  name  = "${local.name}-key"
  tags  = var.standard_tags
}

resource "aws_api_gateway_usage_plan" "this" {
  count = local.with_api_key ? 1 : 0
  name  = "${local.name}-usage-plan"
  tags  = var.standard_tags

  api_stages {
    api_id = aws_api_gateway_rest_api.this[0].id
    stage  = aws_api_gateway_stage.api[0].stage_name
  }
}

resource "aws_api_gateway_usage_plan_key" "this" {
  count         = local.with_api_key ? 1 : 0
  key_id        = aws_api_gateway_api_key.this[0].id
  key_type      = "API_KEY"
  usage_plan_id = aws_api_gateway_usage_plan.this[0].id
}
