"""The operator console in AWS: `console/` in a private S3 bucket behind CloudFront (origin access control).

Built in two steps because of the references between it and the API: the bucket and the distribution first
(`Console(...)`), whose origin the API functions and the API's CORS answers need; then `deploy(api_url)` uploads
the files with a generated `config.json` naming the API. The distribution never refers to the API, so the graph
stays functions → distribution, deployment → API, without a cycle.
"""

from __future__ import annotations

from pathlib import Path
from typing import cast

from aws_cdk import Aws, CfnElement, CfnOutput, Duration, Stack
from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_cloudfront_origins as origins
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_deployment as s3deploy
from constructs import Construct

from infra.constructs.nag import acknowledge

CONFIG_FILE = "config.json"
"""Read by the console at start (`console/api.js`): `{"api": "<the API's base URL>"}`."""
INDEX = "index.html"
DEPLOYMENT_HANDLER_PREFIX = "Custom::CDKBucketDeployment"


def content_security_policy() -> str:
    """The console's own files, and calls to API Gateway in the stack's region. The API's exact host cannot be
    named here: the distribution would then depend on the API, whose functions depend on the distribution."""
    api_hosts = f"https://*.execute-api.{Aws.REGION}.amazonaws.com"
    return "; ".join([
        "default-src 'self'",
        f"connect-src 'self' {api_hosts}",
        "img-src 'self' data:",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ])


class Console(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, access_logs: s3.IBucket, source_dir: Path) -> None:
        super().__init__(scope, construct_id)
        self._source_dir = source_dir
        self.bucket = s3.Bucket(
            self,
            "Site",
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            server_access_logs_bucket=access_logs,
            server_access_logs_prefix="console/",
        )
        self.distribution = cloudfront.Distribution(
            self,
            "Distribution",
            comment="OCP operator console",
            default_root_object=INDEX,
            default_behavior=cloudfront.BehaviorOptions(
                origin=origins.S3BucketOrigin.with_origin_access_control(self.bucket),
                viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
                allowed_methods=cloudfront.AllowedMethods.ALLOW_GET_HEAD,
                cache_policy=cloudfront.CachePolicy.CACHING_OPTIMIZED,
                response_headers_policy=self._security_headers(),
                compress=True,
            ),
            http_version=cloudfront.HttpVersion.HTTP2_AND_3,
            price_class=cloudfront.PriceClass.PRICE_CLASS_100,
        )
        self.origin = f"https://{self.distribution.distribution_domain_name}"
        """The console's origin as browsers send it (`Origin` header): for CORS."""
        url = CfnOutput(self, "Url", value=f"{self.origin}/",
                        description="The operator console (sign in with an API key)")
        url.override_logical_id("ConsoleUrl")
        self._acknowledge()

    def deploy(self, api_url: str) -> s3deploy.BucketDeployment:
        """Upload `console/` and a `config.json` naming `api_url`; CloudFront's cached copies are invalidated."""
        deployment = s3deploy.BucketDeployment(
            self,
            "Deployment",
            destination_bucket=self.bucket,
            sources=[
                # A local config.json (pointing at a developer's API) must not reach the deployed console.
                s3deploy.Source.asset(str(self._source_dir), exclude=[CONFIG_FILE]),
                s3deploy.Source.json_data(CONFIG_FILE, {"api": api_url}),
            ],
            distribution=self.distribution,
            distribution_paths=["/*"],
            prune=True,
            memory_limit=256,
        )
        self._acknowledge_deployment_handler()
        return deployment

    def _security_headers(self) -> cloudfront.ResponseHeadersPolicy:
        return cloudfront.ResponseHeadersPolicy(
            self,
            "SecurityHeaders",
            comment="OCP console: HSTS, CSP, no framing, no sniffing, no referrer",
            security_headers_behavior=cloudfront.ResponseSecurityHeadersBehavior(
                strict_transport_security=cloudfront.ResponseHeadersStrictTransportSecurity(
                    access_control_max_age=Duration.days(365), include_subdomains=True, override=True
                ),
                content_security_policy=cloudfront.ResponseHeadersContentSecurityPolicy(
                    content_security_policy=content_security_policy(), override=True
                ),
                content_type_options=cloudfront.ResponseHeadersContentTypeOptions(override=True),
                frame_options=cloudfront.ResponseHeadersFrameOptions(
                    frame_option=cloudfront.HeadersFrameOption.DENY, override=True
                ),
                referrer_policy=cloudfront.ResponseHeadersReferrerPolicy(
                    referrer_policy=cloudfront.HeadersReferrerPolicy.NO_REFERRER, override=True
                ),
            ),
        )

    def _acknowledge_deployment_handler(self) -> None:
        """BucketDeployment's handler is one function per stack, created by aws-cdk-lib at the stack's root."""
        handler = next(child for child in Stack.of(self).node.children
                       if child.node.id.startswith(DEPLOYMENT_HANDLER_PREFIX))
        acknowledge(
            handler,
            "L1",
            "aws-cdk-lib's BucketDeployment handler: its runtime is pinned by the CDK release that ships its code, "
            "and it runs only while a deployment copies the console's files.",
            children=False,
        )
        role = handler.node.find_child("ServiceRole")
        acknowledge(
            role,
            "IAM4",
            "The BucketDeployment handler's role is created by aws-cdk-lib with AWSLambdaBasicExecutionRole, "
            "which lets it write its own CloudWatch logs and nothing else.",
            applies_to=["Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"],
            children=False,
        )
        acknowledge(
            role.node.find_child("DefaultPolicy"),
            "IAM5",
            "aws-cdk-lib's grants for the console upload: read the staged asset from the bootstrap assets bucket "
            "and replace every object of the console bucket (prune); CloudFront invalidations take no resource.",
            applies_to=[
                "Action::s3:GetBucket*", "Action::s3:GetObject*", "Action::s3:List*", "Action::s3:Abort*",
                "Action::s3:DeleteObject*",
                "Resource::arn:<AWS::Partition>:s3:::cdk-hnb659fds-assets-<AWS::AccountId>-<AWS::Region>/*",
                f"Resource::<{Stack.of(self).get_logical_id(cast(CfnElement, self.bucket.node.default_child))}"
                ".Arn>/*",
                "Resource::*",
            ],
        )

    def _acknowledge(self) -> None:
        acknowledge(
            self.distribution,
            "CFR1",
            "No geo restriction: the console's operators work from wherever the shop's staff are, and it serves "
            "only static files; every API call it makes needs an operator's API key.",
            children=False,
        )
        acknowledge(
            self.distribution,
            "CFR2",
            "No WAF web ACL on the console: it serves static files only (GET/HEAD from a private bucket); the data "
            "sits behind the API, whose keys and throttles guard it. A web ACL is an account-level decision.",
            children=False,
        )
        acknowledge(
            self.distribution,
            "CFR3",
            "No CloudFront access logs: they need an ACL-enabled bucket, and the console's files are public "
            "static assets; every call that reads or changes data is in the API's access and execution logs.",
            children=False,
        )
        acknowledge(
            self.distribution,
            "CFR4",
            "The distribution uses CloudFront's default *.cloudfront.net certificate (no custom domain), which "
            "CloudFront serves with its own TLS policy; viewers are redirected to HTTPS.",
            children=False,
        )
